import { randomUUID } from 'node:crypto';
import { linkSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { isErrno } from '../errors.js';
import { ensurePrivateHome, writePrivateFile } from '../state/private-files.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * The uuid of this Berth installation (one per $BERTH_HOME), written on first use. It goes into the
 * owner label, so two installations on one machine never touch each other's containers.
 */
export function installationId(home: string): string {
  const file = join(home, 'installation-id');
  const existing = readId(file);
  if (existing) return existing;
  ensurePrivateHome(home);
  // Written whole under a name of its own, then linked into place: link fails if the name exists, so
  // of several processes on first use one wins and every one reads the winner's complete id. (An
  // O_EXCL create then a write let a loser read the winner's still-empty file: seen with 50 at once.)
  const draft = `${file}.${String(process.pid)}.${randomUUID()}`;
  try {
    writePrivateFile(draft, `${randomUUID()}\n`, 'wx');
    linkSync(draft, file);
  } catch (error) {
    if (!isErrno(error, 'EEXIST')) throw error;
  } finally {
    rmSync(draft, { force: true });
  }
  const id = readId(file);
  if (!id) throw new Error(`${file} does not hold a uuid; delete it and Berth will write a new one.`);
  return id;
}

function readId(file: string): string | undefined {
  try {
    const text = readFileSync(file, 'utf8').trim();
    return UUID.test(text) ? text : undefined;
  } catch {
    return undefined;
  }
}
