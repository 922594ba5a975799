import { describe, expect, it } from 'vitest';
import { bwrapArgs, describeSandbox, sbString, seatbeltProfile, type PolicyFacts } from '../../src/runtime/host/sandbox-policy.js';

const facts = (overrides: Partial<PolicyFacts> = {}): PolicyFacts => ({
  mounts: [
    { source: '/home/ada/project', readOnly: false },
    { source: '/home/ada/project/vendor', readOnly: true },
    { source: '/srv/data', readOnly: false },
  ],
  home: '/home/ada',
  protectedPaths: [
    { path: '/home/ada/.ssh', type: 'folder' },
    { path: '/var/lib/docker', type: 'folder' },
    { path: '/var/run/docker.sock', type: 'file' },
    { path: '/home/ada/.aws', type: 'absent' },
  ],
  resolvConfTarget: '/run/systemd/resolve/stub-resolv.conf',
  socketsOnHost: '/home/ada/.berth/host/x.sandbox/sockets',
  tmpOnHost: '/home/ada/.berth/host/x.sandbox/tmp',
  proxyPort: 3128,
  ...overrides,
});

/** The argv as (flag, operands) steps, for order checks. */
function steps(args: string[]): string[] {
  const out: string[] = [];
  const arity: Record<string, number> = { '--ro-bind': 2, '--bind': 2, '--tmpfs': 1, '--dev': 1, '--proc': 1 };
  for (let i = 0; i < args.length; i++) {
    const flag = args[i] ?? '';
    const n = arity[flag] ?? 0;
    out.push([flag, ...args.slice(i + 1, i + 1 + n)].join(' '));
    i += n;
  }
  return out;
}

describe('sandbox policy', () => {
  it('describes one sandbox: writable root and extras, read-only extras, hidden credentials', () => {
    const policy = describeSandbox(facts());
    expect(policy.writable).toEqual(['/home/ada/project', '/srv/data']);
    expect(policy.readOnly).toEqual(['/home/ada/project/vendor', '/run/systemd/resolve/stub-resolv.conf']);
    expect(policy.hiddenFolders).toEqual(['/home/ada/.ssh', '/var/lib/docker']);
    expect(policy.hiddenFiles).toEqual(['/var/run/docker.sock']);
    expect(policy.network).toEqual({ kind: 'proxy-only', proxyPort: 3128 });
    expect(describeSandbox(facts({ proxyPort: null })).network).toEqual({ kind: 'host' });
  });

  it('builds a bwrap argv: every namespace, the system read-only, the home and /tmp empty, the mounts after', () => {
    const args = steps(bwrapArgs(describeSandbox(facts()), { dieWithParent: true }));
    expect(args.slice(0, 5)).toEqual(['--unshare-all', '--die-with-parent', '--new-session', '--ro-bind / /', '--dev /dev']);
    expect(args).not.toContain('--share-net');
    for (const step of ['--tmpfs /tmp', '--tmpfs /run', '--tmpfs /home/ada', '--tmpfs /var/lib/docker', '--ro-bind /dev/null /var/run/docker.sock']) expect(args).toContain(step);
    // Already empty under the home's tmpfs: no mount of its own.
    expect(args).not.toContain('--tmpfs /home/ada/.ssh');
    const at = (step: string): number => args.indexOf(step);
    expect(at('--tmpfs /home/ada')).toBeLessThan(at('--bind /home/ada/project /home/ada/project'));
    // The :ro extra inside the writable root comes after it, so it stays read-only.
    expect(at('--bind /home/ada/project /home/ada/project')).toBeLessThan(at('--ro-bind /home/ada/project/vendor /home/ada/project/vendor'));
    expect(args.at(-1)).toBe('--bind /home/ada/.berth/host/x.sandbox/sockets /run/berth');
  });

  it('shares the host network only when there is no egress policy, and dies with its parent only when asked', () => {
    const args = bwrapArgs(describeSandbox(facts({ proxyPort: null })), { dieWithParent: false });
    expect(args).toContain('--share-net');
    expect(args).not.toContain('--die-with-parent');
  });

  it('hides a protected path inside a writable mount after binding the mount', () => {
    const args = steps(bwrapArgs(describeSandbox(facts({ mounts: [{ source: '/srv', readOnly: false }], protectedPaths: [{ path: '/srv/.ssh', type: 'folder' }] })), { dieWithParent: true }));
    expect(args.indexOf('--bind /srv /srv')).toBeLessThan(args.indexOf('--tmpfs /srv/.ssh'));
  });

  it('generates a Seatbelt profile from the same description (unverified on a Mac)', () => {
    const profile = seatbeltProfile(describeSandbox(facts()));
    expect(profile).toMatch(/^\(version 1\)\n\(deny default\)/);
    expect(profile).toContain('(deny file-read* (subpath "/home/ada"))');
    expect(profile).toContain('(deny file-read* (subpath "/var/lib/docker"))');
    expect(profile).toContain('(deny file-read* (literal "/var/run/docker.sock"))');
    expect(profile).toContain('(allow file-write* (subpath "/home/ada/project"))');
    expect(profile).toContain('(deny file-write* (subpath "/home/ada/project/vendor"))');
    expect(profile).toContain('(allow network-outbound (remote ip "localhost:3128"))');
    expect(profile).not.toContain('(allow network*)');
    // Re-allowing the mounts comes after denying the home: in SBPL the last matching rule wins.
    expect(profile.indexOf('(allow file-read* (subpath "/home/ada/project"))')).toBeGreaterThan(profile.indexOf('(deny file-read* (subpath "/home/ada"))'));
    expect(seatbeltProfile(describeSandbox(facts({ proxyPort: null })))).toContain('(allow network*)');
  });

  it('escapes SBPL strings and refuses control characters', () => {
    expect(sbString('/a "b"\\c')).toBe('"/a \\"b\\"\\\\c"');
    expect(() => sbString('/a\nb')).toThrow(/control characters/);
  });
});
