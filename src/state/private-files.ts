import { chmodSync, closeSync, lstatSync, mkdirSync, openSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * `$BERTH_HOME` holds proxy tokens, workspace env values (API keys) and the daemon token: every
 * folder Berth makes there is 0700 and every file 0600, whatever the umask and whatever was there
 * before (a `mode` option only applies when the file is created, so existing ones are chmod-ed).
 */
export const PRIVATE_DIR = 0o700;
export const PRIVATE_FILE = 0o600;

/** The files Berth keeps at the top of its home, and the folders it owns entirely. */
const HOME_FILES = ['state.db', 'state.db-wal', 'state.db-shm', 'state.db-journal', 'daemon.lock', 'daemon.lock-journal', 'daemon.lock-wal', 'daemon.lock-shm', 'daemon.token', 'daemon.json', 'berth.sock', 'installation-id', 'config.json'];
const HOME_FOLDERS = ['workspaces', 'host', 'dev'];
/** A bound on the walk: Berth's folders hold a few files per workspace. */
const MAX_ENTRIES = 20_000;

/** mkdir -p with 0700, and 0700 on the folder even when it was already there. */
export function ensurePrivateDir(path: string): void {
  mkdirSync(path, { recursive: true, mode: PRIVATE_DIR });
  tighten(path, PRIVATE_DIR);
}

/**
 * Berth's home, made or tightened: whoever first finds it loose (a pre-created 0755 folder, an
 * older Berth) tightens everything Berth owns in it; otherwise only its top (a few lstat calls).
 */
export function ensurePrivateHome(home: string): void {
  mkdirSync(home, { recursive: true, mode: PRIVATE_DIR });
  auditHome(home, true, 'when-home-loose');
}

/** Writes a 0600 file; an existing one is tightened before its new content goes in. */
export function writePrivateFile(path: string, data: string, flag: 'w' | 'wx' = 'w'): void {
  if (flag === 'w') tighten(path, PRIVATE_FILE);
  writeFileSync(path, data, { mode: PRIVATE_FILE, flag });
  chmodSync(path, PRIVATE_FILE);
}

/** Creates an empty 0600 file if there is none (so a library that creates it 0644, like SQLite, finds it made). */
export function touchPrivateFile(path: string): void {
  closeSync(openSync(path, 'a', PRIVATE_FILE));
  chmodSync(path, PRIVATE_FILE);
}

export interface LooseEntry {
  path: string;
  mode: number;
  want: number;
}

/**
 * What in Berth's home is looser than 0700/0600: the home itself, Berth's own files at its top
 * and everything in the folders Berth owns (never the rest: BERTH_HOME may be a folder that also
 * holds other things). With `fix`, each is tightened as it is found.
 *
 * `depth: 'when-home-loose'` (every Store.open) walks the owned folders only when the home itself
 * was loose (a pre-created or older home): a 0700 home already keeps everyone else out of what is
 * below, and a full walk costs ~3 ms at 50 workspaces. `berth doctor` always walks everything.
 */
export function auditHome(home: string, fix: boolean, depth: 'all' | 'when-home-loose' = 'all'): LooseEntry[] {
  const loose: LooseEntry[] = [];
  let budget = MAX_ENTRIES;
  let homeWasLoose = false;
  const visit = (path: string, recurse: boolean): void => {
    if (budget-- <= 0) return;
    let stat;
    try {
      stat = lstatSync(path);
    } catch {
      return;
    }
    if (stat.isSymbolicLink()) return;
    const want = stat.isDirectory() ? PRIVATE_DIR : PRIVATE_FILE;
    if ((stat.mode & 0o777 & ~want) !== 0) {
      loose.push({ path, mode: stat.mode & 0o777, want });
      if (fix) tighten(path, want);
    }
    if (recurse && stat.isDirectory() && (depth === 'all' || homeWasLoose)) {
      for (const entry of safeReaddir(path)) visit(join(path, entry), true);
    }
  };
  visit(home, false);
  homeWasLoose = loose.length > 0;
  for (const file of HOME_FILES) visit(join(home, file), false);
  for (const folder of HOME_FOLDERS) visit(join(home, folder), true);
  return loose;
}

/** chmod, except what is gone, or not ours to change (a home someone else owns: `berth doctor` says so). */
function tighten(path: string, mode: number): void {
  try {
    chmodSync(path, mode);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'EPERM') throw error;
  }
}

function safeReaddir(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}
