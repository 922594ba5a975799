import { accessSync, constants, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';

const found = new Map<string, string>();

/**
 * Finds an executable the way a careful shell would: a name with a slash is taken as a path;
 * a bare name is looked up in PATH's absolute entries only, so the current folder is never searched
 * by accident (an empty or relative PATH entry would otherwise mean "here").
 * Returns undefined when there is no such executable. Hits are cached per PATH.
 */
export function resolveExecutable(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (name.includes('/')) return isExecutableFile(name) ? resolve(name) : undefined;
  const pathVar = env['PATH'] ?? '';
  const key = `${pathVar}\0${name}`;
  const cached = found.get(key);
  if (cached !== undefined) return cached;
  for (const dir of pathVar.split(':')) {
    if (!isAbsolute(dir)) continue;
    const candidate = join(dir, name);
    if (isExecutableFile(candidate)) {
      found.set(key, candidate);
      return candidate;
    }
  }
  return undefined;
}

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
