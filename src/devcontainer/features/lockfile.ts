import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/**
 * devcontainer-lock.json, as the reference reads and writes it (src/spec-configuration/lockfile.ts
 * @v0.88.0): beside the config (`.devcontainer-lock.json` for a `.devcontainer.json`), one entry per
 * OCI feature id as written, with the manifest digest it resolved to. A feature in it is pulled by
 * that digest (the tag moving on does not change what installs); rewritten when what resolved
 * differs, in the reference's format, so either tool reads the other's.
 */
export interface LockEntry {
  version: string;
  resolved: string;
  integrity: string;
  dependsOn?: string[] | undefined;
}

export function lockfilePath(configFile: string): string {
  return join(dirname(configFile), basename(configFile).startsWith('.') ? '.devcontainer-lock.json' : 'devcontainer-lock.json');
}

/** The entries, or none when there is no lockfile or it is not one (then it is rewritten). */
export function readLockfile(configFile: string): Record<string, LockEntry> {
  const file = lockfilePath(configFile);
  if (!existsSync(file)) return {};
  try {
    const value = JSON.parse(readFileSync(file, 'utf8')) as { features?: Record<string, Partial<LockEntry>> };
    const out: Record<string, LockEntry> = {};
    for (const [id, entry] of Object.entries(value.features ?? {})) {
      if (typeof entry.integrity === 'string' && /^sha256:[a-f0-9]{64}$/.test(entry.integrity)) {
        out[id] = { version: String(entry.version ?? ''), resolved: String(entry.resolved ?? ''), integrity: entry.integrity, dependsOn: entry.dependsOn };
      }
    }
    return out;
  } catch {
    return {};
  }
}

/** Writes the lockfile when its content would change (compared as the reference does, through JSON). */
export function writeLockfile(configFile: string, entries: Record<string, LockEntry>): boolean {
  const sorted = Object.fromEntries(
    Object.keys(entries)
      .sort((a, b) => a.localeCompare(b))
      .map((id) => {
        const { dependsOn, ...rest } = entries[id] as LockEntry;
        return [id, dependsOn && dependsOn.length > 0 ? { ...rest, dependsOn } : rest];
      }),
  );
  const text = `${JSON.stringify({ features: sorted }, null, 2)}\n`;
  const file = lockfilePath(configFile);
  let old: string | null = null;
  try {
    old = `${JSON.stringify(JSON.parse(readFileSync(file, 'utf8')), null, 2)}\n`;
  } catch {
    old = null;
  }
  if (old === text) return false;
  writeFileSync(file, text);
  return true;
}
