// @ts-check
// The shape of the dispatch table: a command is its argument spec and what it does; a group is a
// word (`image`, `network`, …) with its own table. main.mjs walks them.

import { helpText, parseArgs } from '../core/args.mjs';
import { notEmulated, usageExit } from '../core/errors.mjs';

/** @typedef {import('../core/context.mjs').Ctx} Ctx */

/**
 * @typedef {object} Command
 * @property {import('../core/args.mjs').CommandSpec} spec
 * @property {string} [since] A release row: the command does not exist before it.
 * @property {(ctx: Ctx, opts: import('../core/args.mjs').Parsed) => Promise<number | void> | number | void} run
 *   Resolves to the exit code (nothing: 0).
 */

/**
 * @typedef {object} Group
 * @property {string} group
 * @property {string} [since] A release row: before it the word is an unknown plugin.
 * @property {(ctx: Ctx) => boolean} [available] Beyond the release (the macOS version): false makes the word an unknown plugin.
 * @property {Record<string, string>} aliases
 * @property {Record<string, Command>} commands In the order `--help` lists them.
 */

/**
 * Parses a command's arguments and runs it (`--help` prints its usage instead).
 * @param {Ctx} ctx
 * @param {Command} command
 * @param {string[]} argv
 */
export async function runCommand(ctx, command, argv) {
  const opts = parseArgs(ctx.release, argv, command.spec);
  if (opts.help) {
    ctx.io.out(helpText(ctx.config.version, command.spec));
    return 0;
  }
  return command.run(ctx, opts);
}

/** Subcommands Apple has and the double does not emulate (in any group). */
const NOT_EMULATED = ['push', 'save', 'load', 'delete', 'rm', 'prune', 'dns', 'logs', 'df', 'property', 'kernel'];

/**
 * @param {Ctx} ctx
 * @param {Group} group
 * @param {string[]} argv
 */
export function runGroup(ctx, group, argv) {
  const [word, ...rest] = argv;
  const usage = `container ${group.group} <subcommand>`;
  /** @type {Record<string, Command>} */
  const table = Object.fromEntries(Object.entries(group.commands).filter(([, c]) => !c.since || ctx.release.has(c.since)));
  if (word === undefined || word === '--help' || word === '-h') {
    ctx.io.out(`USAGE: ${usage}\n\nSUBCOMMANDS: ${Object.keys(table).join(', ')}\n`);
    return 0;
  }
  const name = group.aliases[word] ?? word;
  const command = Object.hasOwn(table, name) ? table[name] : undefined;
  if (!command) {
    if (word.startsWith('-')) throw usageExit(`Unknown option '${word}'`, usage, group.group);
    if (NOT_EMULATED.includes(word)) throw notEmulated(`container ${group.group} ${word}`);
    throw usageExit(`Unexpected argument '${word}'`, usage, group.group);
  }
  return runCommand(ctx, command, rest);
}
