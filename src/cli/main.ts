#!/usr/bin/env node
// The `berth` executable. Kept tiny: each command loads only the modules it needs.
import { runCli } from './run-cli.js';

process.exitCode = await runCli(process.argv.slice(2));
