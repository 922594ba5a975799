import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { BerthError, isErrno } from './errors.js';
import { isRuntimeChoice, RUNTIME_CHOICES, type RuntimeChoice } from './runtime/kinds.js';

/** Berth's state folder: `$BERTH_HOME`, else `~/.berth`. */
export function berthHome(env: NodeJS.ProcessEnv = process.env): string {
  return env['BERTH_HOME'] || join(homedir(), '.berth');
}

export interface BerthConfig {
  /** Default runtime when neither --runtime nor BERTH_RUNTIME says. */
  runtime?: RuntimeChoice;
  /** false: never start a stopped Apple container system (BERTH_APPLE_AUTOSTART, when set, wins). Default true. */
  appleAutostart?: boolean;
}

const QUOTED_CHOICES = RUNTIME_CHOICES.map((choice) => JSON.stringify(choice));
const KNOWN_KEYS = `Known keys: runtime (${QUOTED_CHOICES.slice(0, -1).join(', ')} or ${String(QUOTED_CHOICES.at(-1))}), appleAutostart (true or false).`;

/**
 * May Berth start a stopped Apple container system? BERTH_APPLE_AUTOSTART, when set, wins
 * (`0` no, anything else yes: a one-off override of the file); else config.json's
 * `appleAutostart`; else yes. A running system is never restarted either way.
 */
export function appleAutostart(env: NodeJS.ProcessEnv, config: BerthConfig): boolean {
  const fromEnv = env['BERTH_APPLE_AUTOSTART'];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv !== '0';
  return config.appleAutostart ?? true;
}

/** Reads `$BERTH_HOME/config.json`; a missing file is an empty config, a bad one a clear error. */
export function loadConfig(home: string): BerthConfig {
  const file = join(home, 'config.json');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return {};
    throw error;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new BerthError('E_INVALID_INPUT', `${file} is not valid JSON: ${(cause as Error).message}`, {
      hint: 'Fix the file, or delete it to use the defaults.',
      cause,
    });
  }
  // Checked by hand: this runs on every CLI start, and a schema library costs more to load than it saves.
  const problem = configProblem(value);
  if (problem === undefined) return value as BerthConfig;
  throw new BerthError('E_INVALID_INPUT', `${file}: ${problem}`, { hint: KNOWN_KEYS });
}

function configProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return '(top level): expected an object';
  for (const [key, field] of Object.entries(value)) {
    if (key === 'runtime') {
      if (!isRuntimeChoice(field)) return `runtime: expected one of ${RUNTIME_CHOICES.join(', ')}, got ${JSON.stringify(field)}`;
    } else if (key === 'appleAutostart') {
      if (typeof field !== 'boolean') return `appleAutostart: expected true or false, got ${JSON.stringify(field)}`;
    } else return `unknown key ${JSON.stringify(key)}`;
  }
  return undefined;
}
