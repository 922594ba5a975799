// @ts-check
// The top of the CLI: the dispatch table of every command word, and how an invocation ends (the
// exit code, and the stderr text of an error in the emulated release's form).

import fs from 'node:fs';
import { makeContext } from './core/context.mjs';
import { Exit, Failure, notEmulated, pluginNotFound, topLevel, usageExit } from './core/errors.mjs';
import { runCommand, runGroup } from './commands/command.mjs';
import { CONTAINER_COMMANDS } from './commands/containers.mjs';
import { BUILD, IMAGE_GROUP } from './commands/image.mjs';
import { NETWORK_GROUP } from './commands/network.mjs';
import { PROCESS_COMMANDS } from './commands/process.mjs';
import { SYSTEM_GROUP } from './commands/system.mjs';
import { VOLUME_GROUP } from './commands/volume.mjs';

/** @typedef {import('./commands/command.mjs').Command} Command */
/** @typedef {import('./commands/command.mjs').Group} Group */
/** @typedef {import('./core/context.mjs').Ctx} Ctx */

/** Every top-level word the double emulates. @type {Record<string, Command | Group>} */
export const DISPATCH = {
  ...CONTAINER_COMMANDS,
  ...PROCESS_COMMANDS,
  build: BUILD,
  image: IMAGE_GROUP,
  network: NETWORK_GROUP,
  volume: VOLUME_GROUP,
  system: SYSTEM_GROUP,
};

export const ALIASES = /** @type {Record<string, string>} */ ({ cp: 'copy', rm: 'delete', ls: 'list', i: 'image', n: 'network', s: 'system', v: 'volume' });
const NOT_EMULATED = ['export', 'stats', 'registry', 'r', 'machine', 'm', 'builder'];

const ROOT_HELP =
  'OVERVIEW: A container platform for macOS (container-double: a test double on Linux)\n\n' +
  'USAGE: container [--debug] <subcommand>\n\n' +
  'OPTIONS:\n  --debug                 Enable debug output [environment: CONTAINER_DEBUG]\n  --version               Show the version.\n  -h, --help              Show help information.\n\n' +
  'CONTAINER SUBCOMMANDS:\n  copy, create, delete, exec, inspect, kill, list, logs, run, start, stop, prune\n\n' +
  'IMAGE SUBCOMMANDS:\n  build, image\n\nVOLUME SUBCOMMANDS:\n  volume\n\nOTHER SUBCOMMANDS:\n  network, system\n\nPLUGINS:\n\n';

/**
 * @param {Ctx} ctx
 * @param {string[]} argv
 * @returns {Promise<number | void>}
 */
async function dispatch(ctx, argv) {
  let args = argv;
  while (args[0] === '--debug') args = args.slice(1);
  const [word, ...rest] = args;
  if (word === undefined || word === '--help' || word === '-h' || word === 'help') {
    ctx.io.out(ROOT_HELP);
    return 0;
  }
  if (word === '--version') {
    ctx.io.out(`container CLI version ${ctx.config.version} (build: release, commit: ${ctx.config.shortCommit})\n`);
    return 0;
  }
  if (word === '--generate-completion-script') throw notEmulated('--generate-completion-script');
  if (word.startsWith('-')) throw usageExit(`Unknown option '${word}'`, 'container [--debug] <subcommand>', '');
  const name = ALIASES[word] ?? word;
  if (NOT_EMULATED.includes(word)) throw notEmulated(`container ${word}`);
  const entry = Object.hasOwn(DISPATCH, name) ? DISPATCH[name] : undefined;
  // Unknown words, and words newer than the emulated release, are plugin names (DefaultCommand):
  // container-<word> from the plugin directories.
  if (!entry || (entry.since && !ctx.release.has(entry.since))) throw pluginNotFound(word);
  if (!('group' in entry)) return runCommand(ctx, entry, rest);
  if (entry.available && !entry.available(ctx)) throw pluginNotFound(entry.group);
  return runGroup(ctx, entry, rest);
}

/**
 * Runs one invocation and resolves to its exit code; everything printed goes through ctx.io.
 * @param {string[]} argv
 * @param {NodeJS.ProcessEnv} env
 * @param {string} binary This executable's path.
 */
export async function main(argv, env, binary) {
  const ctx = makeContext(env, binary);
  const { io } = ctx;
  try {
    const code = await dispatch(ctx, argv);
    io.flush();
    return typeof code === 'number' ? code : 0;
  } catch (e) {
    if (e instanceof Exit) {
      io.flush();
      if (e.stderr) fs.writeSync(io.stderrFd, e.stderr);
      return e.exitCode;
    }
    if (e instanceof Failure) {
      io.err(topLevel(ctx.release, e.error));
      return 1;
    }
    io.err(`Error: container-double internal error: ${e instanceof Error ? e.stack : String(e)}\n`);
    return 1;
  }
}
