import { randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, readFileSync } from 'node:fs';
import { isErrno } from '../errors.js';
import { writePrivateFile } from '../state/private-files.js';

/**
 * The loopback listener's bearer token: made once, kept in `$BERTH_HOME/daemon.token` (0600, so
 * only this user reads it), reused across restarts so open dashboards and clients keep working.
 */
export function loadOrCreateToken(file: string): string {
  try {
    const token = readFileSync(file, 'utf8').trim();
    if (token.length >= 32) {
      chmodSync(file, 0o600);
      return token;
    }
  } catch (error) {
    if (!isErrno(error, 'ENOENT')) throw error;
  }
  const token = randomBytes(32).toString('base64url');
  writePrivateFile(file, `${token}\n`);
  return token;
}

/** Constant-time: a wrong token takes as long to refuse whatever prefix it shares. */
export function tokenMatches(expected: string, given: string | undefined): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}
