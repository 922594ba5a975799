#!/usr/bin/env node
// @ts-check
// A test double of Apple's `container` CLI for Linux: the executable. It follows the spec in shared
// research (apple-container.md) and runs real containers with podman or docker underneath. The
// code is in this folder: main.mjs (dispatch), core/ (configuration, release table, errors,
// output, engine, state), model/ (containers, images, networks, volumes) and commands/ (one module
// per command group). See README.md next to this file for what it emulates and what it does not.
//
// Rules kept throughout: the engine is only ever spawned with argument arrays (never a shell), the
// double only touches engine objects carrying its label and its state-directory hash, and every
// text printed is the one the spec gives for the emulated version.

import { main } from './main.mjs';

process.exitCode = await main(process.argv.slice(2), process.env, process.argv[1] ?? '.');
