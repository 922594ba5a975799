import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { BerthError } from '../errors.js';

/**
 * Where a folder's devcontainer.json is (containers.dev json_reference, and the reference's
 * getWellKnownDevContainerPaths, configurationCommonUtils.ts@v0.88.0): `.devcontainer/devcontainer.json`,
 * else `.devcontainer.json`, else the one `.devcontainer/<name>/devcontainer.json` (with several, the
 * caller must choose: Berth does not guess which environment is meant).
 */
export function locateDevcontainer(workspaceFolder: string, explicit?: string): string {
  if (explicit !== undefined) {
    const file = resolve(workspaceFolder, explicit);
    if (!isFile(file)) throw notFound(`The devcontainer config ${file} does not exist or is not a file.`, 'Check the path given with --config (or devcontainer: in berth.yaml).');
    return file;
  }
  for (const candidate of [join(workspaceFolder, '.devcontainer', 'devcontainer.json'), join(workspaceFolder, '.devcontainer.json')]) {
    if (isFile(candidate)) return candidate;
  }
  const named = namedConfigs(workspaceFolder);
  if (named.length === 1 && named[0] !== undefined) return named[0];
  if (named.length > 1) {
    throw new BerthError('E_INVALID_INPUT', `${workspaceFolder} has ${String(named.length)} devcontainer configs: ${named.map((f) => f.slice(workspaceFolder.length + 1)).join(', ')}.`, {
      hint: 'Choose one with --config PATH (or devcontainer: PATH in berth.yaml).',
    });
  }
  throw notFound(`No devcontainer.json in ${workspaceFolder}: looked for .devcontainer/devcontainer.json, .devcontainer.json and .devcontainer/<name>/devcontainer.json.`, 'Pass --config PATH, or --workspace-folder with the folder that holds .devcontainer/.');
}

function namedConfigs(workspaceFolder: string): string[] {
  const folder = join(workspaceFolder, '.devcontainer');
  if (!existsSync(folder)) return [];
  let entries: string[];
  try {
    entries = readdirSync(folder);
  } catch {
    return [];
  }
  return entries
    .sort()
    .map((name) => join(folder, name, 'devcontainer.json'))
    .filter(isFile);
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function notFound(message: string, hint: string): BerthError {
  return new BerthError('E_NOT_FOUND', message, { hint });
}
