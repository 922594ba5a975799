#!/usr/bin/env node
// The `berth` executable. `berth exec` with an address card (the hot path) is answered by fastExec
// alone; everything else loads the whole CLI (run-cli.js, a separate file in the build) on demand.
import { fastExec } from './fast-exec.js';

const argv = process.argv.slice(2);
void fastExec(argv)
  .then(async (code) => code ?? (await import('./run-cli.js')).runCli(argv))
  .then((code) => {
    process.exitCode = code;
  });
