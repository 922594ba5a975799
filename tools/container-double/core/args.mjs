// @ts-check
// Argument parsing, ArgumentParser style: `--opt value`, `--opt=value`, combined short flags,
// repeated array options, `--`, passthrough after a positional, exit 64 with a usage line.

import { notEmulated, usageExit } from './errors.mjs';

/**
 * One option. `since`/`until` name a row of the release table (core/release.mjs): below `since`, or
 * from `until` on, the option is unknown, as ArgumentParser makes it.
 * @typedef {object} OptionSpec
 * @property {string} key
 * @property {string[]} names
 * @property {'flag' | 'value' | 'array'} type
 * @property {string} [value] The value's name in messages (default: the key).
 * @property {string} [since]
 * @property {string} [until]
 * @property {string[]} [choices]
 * @property {(value: string, release: import('./release.mjs').Release) => boolean} [check]
 */

/**
 * @typedef {object} CommandSpec
 * @property {string} usage
 * @property {string} path The command words after `container` (for the `See '… --help'` line).
 * @property {OptionSpec[]} options
 * @property {string[]} positionals
 * @property {string} [rest] The name of the trailing arguments, when there are any.
 * @property {number} [passthroughAfter] After this many positionals, every word is passed through.
 * @property {number} [minRest]
 */

/**
 * Parsed arguments: `_` the positionals, `rest` the trailing ones, and one field per option key.
 * @typedef {{ _: string[], rest: string[], help: boolean, [key: string]: any }} Parsed
 */

/** @type {OptionSpec[]} */
const COMMON = [
  { key: 'debug', names: ['--debug'], type: 'flag' },
  { key: 'help', names: ['-h', '--help'], type: 'flag' },
];

/**
 * @param {import('./release.mjs').Release} release
 * @param {string[]} argv
 * @param {CommandSpec} spec
 * @returns {Parsed}
 */
export function parseArgs(release, argv, spec) {
  const options = [...spec.options, ...COMMON];
  /** @type {Map<string, OptionSpec>} */
  const byName = new Map();
  for (const o of options) {
    if (o.since && !release.has(o.since)) continue;
    if (o.until && release.has(o.until)) continue;
    for (const n of o.names) byName.set(n, o);
  }
  /** @type {Parsed} */
  const result = { _: [], rest: [], help: false };
  for (const o of options) result[o.key] = o.type === 'array' ? [] : o.type === 'flag' ? false : undefined;
  /** @param {string} message */
  const usage = (message) => usageExit(message, spec.usage, spec.path);
  /**
   * @param {OptionSpec} o
   * @param {string} name
   * @param {string | true} value
   */
  const set = (o, name, value) => {
    if (o.type === 'flag') result[o.key] = true;
    else if (o.type === 'array') result[o.key].push(value);
    else result[o.key] = value;
    if (typeof value !== 'string') return;
    if (o.choices && !o.choices.includes(value)) throw usage(`The value '${value}' is invalid for '${name} <${o.value ?? o.key}>'`);
    if (o.check && !o.check(value, release)) throw usage(`The value '${value}' is invalid for '${name} <${o.value ?? o.key}>'`);
  };
  const passingThrough = () => spec.passthroughAfter !== undefined && result._.length >= spec.passthroughAfter;
  /** @param {string} word */
  const positional = (word) => {
    if (passingThrough()) result.rest.push(word);
    else if (result._.length < spec.positionals.length) result._.push(word);
    else if (spec.rest) result.rest.push(word);
    else throw usage(`Unexpected argument '${word}'`);
  };
  for (let i = 0; i < argv.length; i++) {
    const word = /** @type {string} */ (argv[i]);
    if (passingThrough()) {
      result.rest.push(...argv.slice(i));
      break;
    }
    if (word === '--') {
      for (const w of argv.slice(i + 1)) positional(w);
      break;
    }
    if (word.startsWith('--') && word.length > 2) {
      const eq = word.indexOf('=');
      const name = eq === -1 ? word : word.slice(0, eq);
      const inline = eq === -1 ? undefined : word.slice(eq + 1);
      const o = byName.get(name);
      if (!o) throw usage(`Unknown option '${name}'`);
      if (o.type === 'flag') {
        if (inline !== undefined) throw usage(`Unknown option '${word}'`);
        set(o, name, true);
      } else {
        const value = inline ?? argv[++i];
        if (value === undefined) throw usage(`Missing value for '${name} <${o.value ?? o.key}>'`);
        set(o, name, value);
      }
      continue;
    }
    if (word.startsWith('-') && word.length > 1) {
      const chars = word.slice(1);
      for (let j = 0; j < chars.length; j++) {
        const name = `-${chars[j]}`;
        const o = byName.get(name);
        if (!o) throw usage(`Unknown option '${name}'`);
        if (o.type === 'flag') {
          set(o, name, true);
          continue;
        }
        const value = chars.slice(j + 1) || argv[++i];
        if (value === undefined) throw usage(`Missing value for '${name} <${o.value ?? o.key}>'`);
        set(o, name, value);
        break;
      }
      continue;
    }
    positional(word);
  }
  if (result.help) return result;
  if (result._.length < spec.positionals.length) {
    throw usage(`Missing expected argument '<${spec.positionals[result._.length]}>'`);
  }
  if (spec.minRest && result.rest.length < spec.minRest) throw usage(`Missing expected argument '<${spec.rest}> ...'`);
  return result;
}

/**
 * @param {string} version
 * @param {CommandSpec} spec
 */
export function helpText(version, spec) {
  return `USAGE: ${spec.usage}\n\nThis is container-double, a test double of Apple's container CLI ${version}.\n`;
}

/** @type {OptionSpec} */
export const FORMAT_OPTION = {
  key: 'format',
  names: ['--format'],
  type: 'value',
  value: 'format',
  check: (v, release) => ['json', 'table'].includes(v) || (v === 'yaml' && release.has('format.yaml')) || (v === 'toml' && release.has('format.toml')),
};

/** @type {OptionSpec} */
export const QUIET_OPTION = { key: 'quiet', names: ['-q', '--quiet'], type: 'flag' };

/**
 * The output format asked for: json or table (yaml and toml are valid values the double does not print).
 * @param {string | undefined} format
 * @returns {'json' | 'table'}
 */
export function requireFormat(format) {
  if (format === 'yaml' || format === 'toml') throw notEmulated(`--format ${format}`);
  return format === 'json' ? 'json' : 'table';
}
