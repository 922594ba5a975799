#!/usr/bin/env node
// The `berth` executable. `berth exec` with an address card (the hot path) is answered by fastExec
// alone; everything else loads the whole CLI (run-cli.js, a separate file in the build) on demand.
import nodeModule from 'node:module';
import { fastExec } from './fast-exec.js';

// Node >= 22.1 keeps compiled code on disk between runs (its own cache directory and checks), so
// the whole CLI's 1.5 MB, loaded by every command but exec, is parsed once, not per run. Node 20
// has no such function: nothing happens there.
(nodeModule as { enableCompileCache?: () => unknown }).enableCompileCache?.();

const argv = process.argv.slice(2);
void fastExec(argv)
  .then(async (code) => code ?? (await import('./run-cli.js')).runCli(argv))
  .then((code) => {
    process.exitCode = code;
  });
