import { readFileSync, realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { BerthError } from '../errors.js';
import { normalizeConfig, type DevcontainerConfig } from './config.js';
import { parseJsonc } from './jsonc.js';
import { locateDevcontainer } from './locate.js';
import { devcontainerError, type DevcontainerProblem } from './problems.js';
import { devcontainerId } from './substitute.js';

/** What `berth devcontainer read` prints, and what `up --devcontainer` starts from. */
export interface DevcontainerRead {
  /** The config file (absolute). */
  file: string;
  /** The folder the configuration belongs to: mounted as the workspace, `${localWorkspaceFolder}`. */
  localWorkspaceFolder: string;
  /** `${devcontainerId}`: the same id the reference computes for this folder and file. */
  devcontainerId: string;
  config: DevcontainerConfig;
  /** Keys Berth ignores, each with where it is. */
  warnings: DevcontainerProblem[];
  /** What Berth will not run as written (up refuses while any is left). */
  errors: DevcontainerProblem[];
}

export interface ReadOptions {
  workspaceFolder: string;
  /** A config path (relative to the workspace folder); default: the well-known places. */
  config?: string | undefined;
  /** For `${localEnv:X}`: the environment of the process reading (default process.env). */
  env?: Readonly<Record<string, string | undefined>> | undefined;
}

/** A file bigger than this is not a devcontainer.json (the largest public ones are a few KB). */
const MAX_BYTES = 1024 * 1024;

/**
 * Finds, parses and normalises a folder's devcontainer.json without building or starting anything.
 * Throws (file:line:column) when the file cannot be read as a configuration at all; otherwise
 * returns it with its warnings and the errors that keep it from running.
 */
export function readDevcontainer(options: ReadOptions): DevcontainerRead {
  const folder = realFolder(resolve(options.workspaceFolder));
  const file = locateDevcontainer(folder, options.config);
  const text = readConfigText(file);
  return readDevcontainerText(text, file, folder, options.env ?? process.env);
}

/** The same, from text already in hand (tests, fuzzing). */
export function readDevcontainerText(text: string, file: string, localWorkspaceFolder: string, env: Readonly<Record<string, string | undefined>>): DevcontainerRead {
  const parsed = parseJsonc(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text, file);
  if (!parsed.ok) throw devcontainerError(file, parsed.problems, 'Fix the JSON at the place above (comments and trailing commas are allowed).');
  const id = devcontainerId(localWorkspaceFolder, file);
  const { config, problems } = normalizeConfig({ document: parsed.document, localWorkspaceFolder, env, devcontainerId: id });
  problems.sort((a, b) => a.line - b.line || a.column - b.column);
  const errors = problems.filter((p) => p.severity === 'error');
  if (config === null) throw devcontainerError(file, errors);
  return { file, localWorkspaceFolder, devcontainerId: id, config, warnings: problems.filter((p) => p.severity === 'warning'), errors };
}

/** The read, refused when anything in it would not run as written. */
export function requireRunnable(read: DevcontainerRead): DevcontainerRead {
  if (read.errors.length > 0) throw devcontainerError(read.file, read.errors);
  return read;
}

function readConfigText(file: string): string {
  let buffer: Buffer;
  try {
    buffer = readFileSync(file);
  } catch (cause) {
    throw new BerthError('E_INVALID_INPUT', `Cannot read ${file}: ${(cause as Error).message}`, { hint: 'Check that the file is readable.', cause });
  }
  if (buffer.length > MAX_BYTES) {
    throw new BerthError('E_INVALID_INPUT', `${file} is ${String(buffer.length)} bytes; a devcontainer.json is at most ${String(MAX_BYTES)}.`, { hint: 'Pass the right file with --config.' });
  }
  return buffer.toString('utf8');
}

function realFolder(folder: string): string {
  try {
    return realpathSync(folder);
  } catch (cause) {
    throw new BerthError('E_NOT_FOUND', `The workspace folder ${folder} does not exist.`, { hint: 'Pass --workspace-folder with an existing folder.', cause });
  }
}
