// @ts-check
// How the double fails: Apple's errors as data (a ContainerizationError), printed at the edge in the
// emulated release's form, and the CLI's own usage and plugin texts.

import os from 'node:os';
import path from 'node:path';

/** Ends the command: exit code and the stderr text, already in its final form. */
export class Exit extends Error {
  /**
   * @param {number} code
   * @param {string} [stderr]
   */
  constructor(code, stderr = '') {
    super(stderr);
    this.exitCode = code;
    this.stderr = stderr;
  }
}

/**
 * A ContainerizationError: code, message and an optional cause (another one or a string).
 * @typedef {{ code: string, message: string, cause?: CzError | string }} CzError
 */

/** Ends the command with exit 1 and one ContainerizationError, printed by `topLevel` for the emulated release. */
export class Failure extends Error {
  /** @param {CzError} error */
  constructor(error) {
    super(error.message);
    this.error = error;
  }
}

/**
 * @param {string} code
 * @param {string} message
 * @param {CzError | string} [cause]
 * @returns {CzError}
 */
export function cz(code, message, cause) {
  return { code, message, cause };
}

/**
 * Fails the command with a ContainerizationError.
 * @param {string} code
 * @param {string} message
 * @param {CzError | string} [cause]
 * @returns {never}
 */
export function fail(code, message, cause) {
  throw new Failure(cz(code, message, cause));
}

/**
 * `String(describing:)` of a ContainerizationError: `code: "message"` plus the cause.
 * @param {CzError | string} error
 * @returns {string}
 */
export function describe(error) {
  if (typeof error === 'string') return error;
  return `${error.code}: "${error.message}"${error.cause ? ` (cause: "${describe(error.cause)}")` : ''}`;
}

/**
 * errorDescription (LocalizedError, 0.10 and later): the message plus the described cause.
 * @param {CzError | string} error
 */
function localized(error) {
  if (typeof error === 'string') return error;
  return `${error.message}${error.cause ? ` (cause: "${describe(error.cause)}")` : ''}`;
}

/**
 * How Application.exit prints a single error for the emulated version.
 * @param {import('./release.mjs').Release} release
 * @param {CzError} error
 */
export function topLevel(release, error) {
  return `Error: ${release.has('errors.localized') ? localized(error) : describe(error)}\n`;
}

/**
 * AggregateError: one described error per line, only the first with `Error: `.
 * @param {(CzError | string)[]} errors
 */
export function aggregate(errors) {
  return `Error: ${errors.map(describe).join('\n')}\n`;
}

/**
 * Swift's description of an array of strings: ["a", "b"].
 * @param {string[]} items
 */
export function swiftArray(items) {
  return `[${items.map((s) => `"${s}"`).join(', ')}]`;
}

const XPC = 'XPC connection error: Connection invalid';
const HINT = 'Ensure container system service has been started with `container system start`.';

/**
 * The "system not started" failure of §4.2, per command kind and version.
 * @param {import('./release.mjs').Release} release
 * @param {'list' | 'plain'} kind
 */
export function xpcFailure(release, kind) {
  const listInner = `internalError: "failed to list containers" (cause: "interrupted: "${XPC}"")`;
  if (release.has('errors.localized')) {
    if (kind === 'list') return new Exit(1, `Error: ${listInner}\n${HINT}\n`);
    return new Exit(1, `Error: interrupted: "${XPC}"\n${HINT}\n`);
  }
  const inner = kind === 'list' ? listInner : XPC;
  if (release.has('errors.xpc-hint')) return new Exit(1, `Error: interrupted: "${inner}\n${HINT}"\n`);
  return new Exit(1, `Error: interrupted: "${inner}"\n`);
}

/**
 * An ArgumentParser usage error: exit 64.
 * @param {string} message
 * @param {string} usage
 * @param {string} commandPath
 */
export function usageExit(message, usage, commandPath) {
  const see = `  See 'container${commandPath ? ` ${commandPath}` : ''} --help' for more information.`;
  return new Exit(64, `Error: ${message}\nUsage: ${usage}\n${see}\n`);
}

/**
 * An unknown top-level word is a plugin name (DefaultCommand.swift@0.9.0 line 84, DefaultCommand.swift@1.2.2 line 87):
 * a ValidationError whose text also names `container system start`. The plugin folders are the
 * double's stand-ins for the user's and the install root's.
 * @param {string} word
 */
export function pluginNotFound(word) {
  const message = [
    `Plugin 'container-${word}' not found.`,
    '',
    '- If system services are not running, start them with: container system start',
    "- If the plugin isn't installed, ensure it exists under:",
    '',
    'Check to see that the plugin exists under:',
    `  - ${path.join(os.homedir(), 'Library/Application Support/com.apple.container/plugins', word)}`,
    `  - /usr/local/libexec/container/plugins/${word}`,
    '',
  ].join('\n');
  return usageExit(message, 'container [--debug] <subcommand>', '');
}

/**
 * What Apple has and the double does not: never mistaken for the real thing.
 * @param {string} what
 */
export function notEmulated(what) {
  return new Exit(1, `Error: container-double: ${what} is not emulated (see tools/container-double/README.md)\n`);
}
