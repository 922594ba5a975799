import { BerthError } from '../errors.js';
import type { ContainerSpec } from '../runtime/types.js';

/** `user: host`: the workspace writes files as the user Berth runs as, where the runtime can map it. */
export const HOST_USER = 'host';

/** `host`, or `name|uid` optionally `:group|gid`, as docker, podman and Apple's `--user` all take it. */
export const WORKSPACE_USER = /^(?:host|(?:[0-9]{1,10}|[A-Za-z_][A-Za-z0-9_.-]{0,31})(?::(?:[0-9]{1,10}|[A-Za-z_][A-Za-z0-9_.-]{0,31}))?)$/;

/** The workspace spec's `user`, checked: `host`, or a user as the engines take it; null for the image's own. */
export function parseWorkspaceUser(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string' && WORKSPACE_USER.test(value)) return value;
  throw new BerthError('E_INVALID_INPUT', `user must be host, a uid[:gid] or a name[:group], got ${JSON.stringify(value)}.`, {
    hint: 'Use user: host (files owned by you on the host), e.g. user: "1000:1000", or leave it out for the image\'s user.',
  });
}

/** The host user Berth runs as; null where the platform has no uids. */
export function hostIds(): { uid: number; gid: number } | null {
  const uid = process.getuid?.();
  const gid = process.getgid?.();
  return uid === undefined || gid === undefined ? null : { uid, gid };
}

/** What the container spec says of a workspace's user (the adapters render it per runtime). */
export function containerUserFields(user: string | null | undefined, ids = hostIds()): Pick<ContainerSpec, 'user' | 'hostUser'> {
  if (user === undefined || user === null) return {};
  if (user !== HOST_USER) return { user };
  return ids === null ? {} : { hostUser: ids };
}
