import { userInfo } from 'node:os';
import { BerthError } from '../../errors.js';

/**
 * Host mode runs every command as the user Berth runs as: there is no engine to switch users, and
 * Berth will not ask for privileges to do it. A `user` that names this user (its name, its uid, or
 * uid:gid with its own group) is that user; any other is refused, never silently ignored.
 */
export function requireHostUser(user: string | undefined, where: string): void {
  if (user === undefined || isThisUser(user)) return;
  const me = userInfo();
  throw new BerthError('E_UNSUPPORTED', `Host mode runs ${where} as this machine's user ${me.username} (${String(me.uid)}:${String(me.gid)}); it cannot run as ${JSON.stringify(user)}.`, {
    hint: 'Leave `user` out (or use user: host) in host mode, or run the workspace in a container, whose user you can choose.',
  });
}

function isThisUser(user: string): boolean {
  const me = userInfo();
  const [name, group] = user.split(':') as [string, string | undefined];
  const sameUser = name === me.username || name === String(me.uid);
  return sameUser && (group === undefined || group === String(me.gid));
}
