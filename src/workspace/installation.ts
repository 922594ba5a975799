import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
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
  try {
    // 'wx': if two processes race on first use, one writes and both read the winner's id.
    writePrivateFile(file, `${randomUUID()}\n`, 'wx');
  } catch (error) {
    if (!isErrno(error, 'EEXIST')) throw error;
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
