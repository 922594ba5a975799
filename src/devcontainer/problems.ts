import { basename } from 'node:path';
import { BerthError } from '../errors.js';

/**
 * One thing said about a devcontainer.json, where it is: a warning (a key Berth does not honour,
 * ignored) or an error (ignoring it would change what runs, so Berth refuses). The shape of
 * berth.yaml's problems, so both read the same: `file:line:column: path: message`.
 */
export interface DevcontainerProblem {
  severity: 'warning' | 'error';
  /** The config file's path as found (absolute). */
  file: string;
  line: number;
  column: number;
  /** The JSON path of the value, e.g. `runArgs[2]`, `build.dockerfile`; empty for the file itself. */
  path: string;
  message: string;
}

/** `devcontainer.json:3:5: runArgs[2]: ...`: the file by its last two segments, as an editor jumps to it. */
export function formatProblem(problem: DevcontainerProblem): string {
  return `${shortName(problem.file)}:${String(problem.line)}:${String(problem.column)}: ${problem.path ? `${problem.path}: ` : ''}${problem.message}`;
}

/** `.devcontainer/devcontainer.json` rather than the bare name, which every config shares. */
export function shortName(file: string): string {
  const parts = file.split('/');
  return parts.length >= 2 ? parts.slice(-2).join('/') : basename(file);
}

/** The error for a file Berth cannot read or will not run: every problem at once. */
export function devcontainerError(file: string, problems: readonly DevcontainerProblem[], hint?: string): BerthError {
  const sorted = [...problems].sort((a, b) => a.line - b.line || a.column - b.column);
  const count = `${String(sorted.length)} problem${sorted.length === 1 ? '' : 's'}`;
  return new BerthError('E_INVALID_INPUT', `${shortName(file)} has ${count}:\n${sorted.map(formatProblem).join('\n')}`, {
    hint: hint ?? 'Fix each line above (the devcontainer.json reference: https://containers.dev/implementors/json_reference/).',
    details: { file, problems: sorted },
  });
}
