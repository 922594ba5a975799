import { describe, expect, it } from 'vitest';
import { missingUser } from '../../src/runtime/oci/classify-error.js';
import { normalizeSpec, patchSpec } from '../../src/workspace/spec.js';
import { containerUserFields, parseWorkspaceUser } from '../../src/workspace/workspace-user.js';
import { thrownBy } from '../support/expect-code.js';

describe('the workspace spec\'s user', () => {
  it('takes host, uid[:gid] and name[:group]; anything else is E_INVALID_INPUT', () => {
    for (const user of ['host', '1000', '1000:1000', 'node', 'node:staff', 'www-data:33']) expect(parseWorkspaceUser(user)).toBe(user);
    expect(parseWorkspaceUser(undefined)).toBeNull();
    expect(parseWorkspaceUser(null)).toBeNull();
    for (const user of ['', '-u', 'a b', '1000:', ':1000', 'x;rm', 1000]) expect(thrownBy(() => parseWorkspaceUser(user)).code).toBe('E_INVALID_INPUT');
  });

  it('is in the normalized spec only when set (older specs hash as before), and a patch keeps or clears it', () => {
    expect(normalizeSpec({ root: '/p' }, '/')).not.toHaveProperty('user');
    const recorded = normalizeSpec({ root: '/p', user: 'host' }, '/');
    expect(recorded.user).toBe('host');
    expect(normalizeSpec(patchSpec(recorded, { image: 'other' }), '/').user).toBe('host');
    expect(normalizeSpec(patchSpec(recorded, { user: null }), '/')).not.toHaveProperty('user');
  });

  it('becomes the container spec\'s user, or hostUser for host', () => {
    expect(containerUserFields('host', { uid: 501, gid: 20 })).toEqual({ hostUser: { uid: 501, gid: 20 } });
    expect(containerUserFields('1234:1234', { uid: 501, gid: 20 })).toEqual({ user: '1234:1234' });
    expect(containerUserFields(null)).toEqual({});
  });

  it('an engine\'s "unable to find user" is a BerthError naming the user (recorded from docker 20.10 and podman 4.3)', () => {
    const error = missingUser('podman', 'Error: unable to find user nosuch: no matching entries in passwd file');
    expect(error?.code).toBe('E_INVALID_INPUT');
    expect(error?.message).toContain('"nosuch"');
    expect(missingUser('docker', 'unable to find group devs: no matching entries in group file\r\n')?.message).toContain('/etc/group');
    expect(missingUser('docker', 'permission denied')).toBeUndefined();
  });
});
