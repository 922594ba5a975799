#!/usr/bin/env node
// `berthd`: the same as `berth daemon`, for service managers and people who expect a daemon binary.
import { runCli } from './run-cli.js';

void runCli(['daemon', ...process.argv.slice(2)]).then((code) => {
  process.exitCode = code;
});
