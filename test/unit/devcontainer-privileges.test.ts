import { describe, expect, it } from 'vitest';
import { readDevcontainerText } from '../../src/devcontainer/read.js';
import { mergeContributions } from '../../src/devcontainer/features/contributions.js';
import { contribution, feature, resolution } from '../support/feature-fixtures.js';
import { emptyRunOptions } from '../../src/devcontainer/run-args.js';
import { createCommand as appleCreate } from '../../src/runtime/apple/commands.js';
import { createCommand } from '../../src/runtime/oci/commands.js';
import { devcontainerDrift, planDevcontainer, runAttachHook, runHooks, type HookContext } from '../../src/workspace/devcontainer-up.js';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readDevcontainer } from '../../src/devcontainer/read.js';
import { containerSpecFor, ENTRYPOINTS_ARGV0, KEEP_ALIVE, mainCommand } from '../../src/workspace/container-spec.js';
import { checkPrivileges, checkRuntimeSupport, elevatedPrivileges, normalizePrivileges } from '../../src/workspace/privileges.js';
import { normalizeSpec, patchSpec } from '../../src/workspace/spec.js';
import type { ExecOptions } from '../../src/runtime/types.js';

/* runArgs' privileges and the features' contributions: what is granted, what needs the opt-in, what is refused and where. */

const read = (text: string) => readDevcontainerText(text, '/w/.devcontainer/devcontainer.json', '/w', { HOME: '/home/dev' });

describe('privileges: the canonical form and what needs the opt-in', () => {
  it('capabilities upper-cased without CAP_, hosts as name:address, sorted and unique; none is null', () => {
    expect(normalizePrivileges({ capAdd: ['cap_net_raw', 'NET_RAW', 'SYS_PTRACE'], addHosts: ['db=10.0.0.2', 'api:10.0.0.3'], devices: ['/dev/fuse'] })).toEqual({
      capAdd: ['NET_RAW', 'SYS_PTRACE'],
      securityOpt: [],
      privileged: false,
      addHosts: ['api:10.0.0.3', 'db:10.0.0.2'],
      devices: ['/dev/fuse'],
    });
    expect(normalizePrivileges({ capAdd: [], privileged: false })).toBeNull();
    expect(() => normalizePrivileges({ addHosts: ['nohost'] })).toThrow(/is not name:address/);
    expect(() => normalizePrivileges({ devices: ['/etc/passwd'] })).toThrow(/not a device under \/dev/);
    expect(() => normalizePrivileges({ capAdd: ['NET RAW'] })).toThrow(/without spaces/);
  });

  it('privileged, devices, capabilities outside the benign set and unconfining security options are elevated', () => {
    const p = normalizePrivileges({ privileged: true, capAdd: ['NET_RAW', 'SYS_ADMIN', 'all'], securityOpt: ['no-new-privileges', 'seccomp=unconfined'], devices: ['/dev/kvm'], addHosts: ['a:1.2.3.4'] });
    expect(elevatedPrivileges(p)).toEqual(['privileged', '--device /dev/kvm', '--cap-add ALL', '--cap-add SYS_ADMIN', '--security-opt seccomp=unconfined']);
    expect(elevatedPrivileges(normalizePrivileges({ capAdd: ['NET_RAW', 'SYS_NICE'], securityOpt: ['no-new-privileges:true'], addHosts: ['a:1.2.3.4'] }))).toEqual([]);
  });

  it('elevated: refused without the opt-in, granted with it, refused with an egress policy whatever the opt-in', () => {
    const p = normalizePrivileges({ capAdd: ['SYS_PTRACE'] });
    expect(() => checkPrivileges(p, { allowed: false, egress: false })).toThrow(expect.objectContaining({ code: 'E_UNSUPPORTED', hint: expect.stringContaining('--allow-privileged') as string }) as Error);
    expect(() => checkPrivileges(p, { allowed: true, egress: false })).not.toThrow();
    expect(() => checkPrivileges(p, { allowed: true, egress: true })).toThrow(/egress policy, and --cap-add SYS_PTRACE would let it get around it/);
    // Benign ones need nothing, egress or not.
    expect(() => checkPrivileges(normalizePrivileges({ capAdd: ['NET_RAW'], addHosts: ['db:10.0.0.2'] }), { allowed: false, egress: true })).not.toThrow();
  });

  it('the workspace spec keeps them only when given, checks them, and a later patch that adds egress is refused', () => {
    const plain = normalizeSpec({ root: '/w', image: 'i' });
    expect('privileges' in plain || 'entrypoints' in plain || 'allowPrivileged' in plain).toBe(false);
    expect(() => normalizeSpec({ root: '/w', image: 'i', privileges: { privileged: true } })).toThrow(/asks for privileged/);
    const granted = normalizeSpec({ root: '/w', image: 'i', privileges: { capAdd: ['SYS_PTRACE'] }, allowPrivileged: true, entrypoints: ['echo hi', ' '] });
    expect(granted).toMatchObject({ privileges: { capAdd: ['SYS_PTRACE'] }, allowPrivileged: true, entrypoints: ['echo hi'] });
    expect(() => normalizeSpec(patchSpec(granted, { egress: { allow: ['registry.npmjs.org:443'] } }))).toThrow(/egress policy/);
    expect(normalizeSpec(patchSpec(granted, { cpus: 2 }))).toMatchObject({ privileges: { capAdd: ['SYS_PTRACE'] }, allowPrivileged: true });
  });

  it('Apple has --cap-add and --init only; host mode gives nothing (refused before anything is built)', () => {
    const input = { privileges: { capAdd: ['SYS_PTRACE'], securityOpt: ['seccomp=unconfined'], addHosts: ['db:10.0.0.2'], devices: ['/dev/fuse'], privileged: true } };
    expect(() => checkRuntimeSupport('apple', input, 'dc.json')).toThrow('dc.json: Apple container cannot give the workspace privileged, --security-opt seccomp=unconfined, --add-host db:10.0.0.2, --device /dev/fuse.');
    expect(() => checkRuntimeSupport('apple', { privileges: { capAdd: ['SYS_PTRACE'] }, entrypoints: ['x'] }, 'dc.json')).not.toThrow();
    expect(() => checkRuntimeSupport('host', { privileges: { capAdd: ['NET_RAW'] } }, 'dc.json')).toThrow(/Host mode cannot give the workspace --cap-add NET_RAW/);
    expect(() => checkRuntimeSupport('host', { entrypoints: ['x'] }, 'dc.json')).toThrow(/a feature entrypoint/);
    expect(() => checkRuntimeSupport('docker', input, 'dc.json')).not.toThrow();
  });
});

describe('the engines\' create flags', () => {
  const base = { name: 'berth-w', image: 'img', command: KEEP_ALIVE, init: true };
  it('docker/podman: --privileged, --cap-add, --security-opt, --add-host, --device before the image', () => {
    const args = createCommand({ ...base, privileged: true, capAdd: ['SYS_PTRACE'], securityOpt: ['seccomp=unconfined'], addHosts: ['db:10.0.0.2'], devices: ['/dev/fuse'] }).args;
    expect(args.slice(args.indexOf('--init'))).toEqual(['--init', '--privileged', '--cap-add', 'SYS_PTRACE', '--security-opt', 'seccomp=unconfined', '--add-host', 'db:10.0.0.2', '--device', '/dev/fuse', 'img', ...KEEP_ALIVE]);
  });

  it('Apple: --cap-add from 0.12 (before, every capability is there already); the rest is refused', () => {
    const v122 = { text: '1.2.2', major: 1, minor: 2, patch: 2 };
    const v011 = { text: '0.11.0', major: 0, minor: 11, patch: 0 };
    expect(appleCreate({ ...base, capAdd: ['SYS_PTRACE'] }, v122).args).toEqual(expect.arrayContaining(['--cap-add', 'SYS_PTRACE']));
    expect(appleCreate({ ...base, capAdd: ['SYS_PTRACE'] }, v011).args).not.toContain('--cap-add');
    expect(() => appleCreate({ ...base, addHosts: ['db:10.0.0.2'] }, v122)).toThrow(/Apple container cannot give a container --add-host db:10.0.0.2/);
  });
});

describe('a feature\'s contributions, merged as the reference merges them', () => {
  const run = { ...emptyRunOptions(), capAdd: ['NET_RAW'], securityOpt: ['no-new-privileges'] };
  const ownHook = { commands: [{ name: null, command: { shell: 'echo config' } }], parallel: false };

  it('init/privileged if any asks, capAdd/securityOpt the union, entrypoints and hooks in install order, the config\'s hook last', () => {
    const merged = mergeContributions(
      [
        { userId: './a', contribution: contribution({ capAdd: ['SYS_PTRACE', 'NET_RAW'], entrypoint: '/a.sh', onCreateCommand: 'echo a' }) },
        { userId: './b', contribution: contribution({ privileged: true, init: true, securityOpt: ['seccomp=unconfined'], entrypoint: '/b.sh', onCreateCommand: ['echo', 'b'], postStartCommand: 'echo b-start' }) },
      ],
      { run, hooks: { onCreateCommand: ownHook } },
    );
    expect(merged.run).toMatchObject({ capAdd: ['SYS_PTRACE', 'NET_RAW'], securityOpt: ['seccomp=unconfined', 'no-new-privileges'], privileged: true, init: true });
    expect(merged.entrypoints).toEqual(['/a.sh', '/b.sh']);
    expect(merged.hooks.onCreateCommand?.map((h) => h.origin)).toEqual(['./a', './b', null]);
    expect(merged.hooks.postStartCommand?.map((h) => h.origin)).toEqual(['./b']);
    // Nothing from features: the config's own, as it was.
    expect(mergeContributions([], { run, hooks: { onCreateCommand: ownHook } })).toEqual({ run, entrypoints: [], hooks: { onCreateCommand: [{ origin: null, hook: ownHook }] }, remoteUser: null, containerUser: null, containerEnv: {}, remoteEnv: {} });
  });

  it('the plan: a feature\'s privilege needs the opt-in as the config\'s does; granted ones are said; entrypoints go with the spec', () => {
    const features = resolution(feature('./dbg', { capAdd: ['SYS_PTRACE'], entrypoint: '/usr/local/bin/start-dbg.sh' }));
    expect(() => planDevcontainer(read('{"image":"i","features":{"./dbg":{}}}'), { root: '/w', features })).toThrow(expect.objectContaining({ code: 'E_UNSUPPORTED', message: expect.stringContaining('--cap-add SYS_PTRACE') as string }) as Error);
    const plan = planDevcontainer(read('{"image":"i","features":{"./dbg":{}},"runArgs":["--add-host","db:10.0.0.2","--init"]}'), { root: '/w', features, allowPrivileged: true });
    expect(plan.input).toMatchObject({ privileges: { capAdd: ['SYS_PTRACE'], addHosts: ['db:10.0.0.2'] }, allowPrivileged: true, entrypoints: ['/usr/local/bin/start-dbg.sh'] });
    expect(plan.granted).toEqual(['--cap-add SYS_PTRACE']);
    expect(plan.notes.join('\n')).toContain('granted at your request (--allow-privileged): --cap-add SYS_PTRACE');
    // With an egress policy: refused whatever the opt-in.
    expect(() => planDevcontainer(read('{"image":"i","features":{"./dbg":{}}}'), { root: '/w', features, allowPrivileged: true, base: { egress: { allow: ['example.com:443'] } } })).toThrow(/egress policy/);
    // Benign ones need no opt-in.
    expect(planDevcontainer(read('{"image":"i","runArgs":["--cap-add=NET_RAW","--add-host=db:10.0.0.2"]}'), { root: '/w' }).granted).toEqual([]);
  });

  it('the main process runs the entrypoints in turn, then the keep-alive; behind the guest firewall without NET_ADMIN', () => {
    expect(mainCommand([], null)).toEqual(KEEP_ALIVE);
    expect(mainCommand(['/a.sh', '/b.sh'], null)).toEqual(['/bin/sh', '-c', '/a.sh\n/b.sh\nexec "$@"', ENTRYPOINTS_ARGV0, ...KEEP_ALIVE]);
    const fenced = mainCommand(['/a.sh'], { proxyHost: '192.168.64.1', proxyPort: 3128 });
    expect(fenced.join(' ')).toMatch(/setpriv --inh-caps -net_admin --bounding-set -net_admin -- \/bin\/sh -c \/a.sh/);
    const spec = normalizeSpec({ root: '/w', image: 'i', privileges: { capAdd: ['NET_RAW'], addHosts: ['db:10.0.0.2'] }, entrypoints: ['/a.sh'] });
    const made = containerSpecFor({ id: 'w', spec, mounts: [], desired: { hash: 'h', parts: 'p' }, owner: 'o', egress: null, ports: [], nonce: 'n' });
    expect(made).toMatchObject({ capAdd: ['NET_RAW'], addHosts: ['db:10.0.0.2'], command: mainCommand(['/a.sh'], null) });
    expect('privileged' in made || 'devices' in made || 'securityOpt' in made).toBe(false);
  });

  it('runHooks: each kind\'s feature hooks in install order before the config\'s; a failure names the feature', async () => {
    const features = resolution(feature('./a', { onCreateCommand: 'echo a', postAttachCommand: 'echo a-attach' }), feature('./b', { onCreateCommand: 'echo b' }));
    const plan = planDevcontainer(read('{"image":"i","features":{"./a":{},"./b":{}},"onCreateCommand":"echo config","postAttachCommand":"echo config-attach"}'), { root: '/w', features });
    const calls: string[] = [];
    const done = new Set<string>();
    const context = (exitCodes: Record<string, number> = {}): HookContext => ({
      workspace: 'w',
      containerId: 'c',
      action: 'created',
      exec: (argv: readonly string[], _options: ExecOptions) => {
        calls.push(argv.join(' '));
        return Promise.resolve({ exitCode: exitCodes[argv.join(' ')] ?? 0, stdout: '', stderr: '', durationMs: 1 });
      },
      markers: { hookFinished: (_w, _c, hook) => done.has(hook), markHookFinished: (_w, _c, hook) => void done.add(hook) },
      onHook: () => undefined,
    });
    await expect(runHooks(plan, context({ '/bin/sh -c echo b': 3 }))).rejects.toThrow(/onCreateCommand of the feature \.\/b failed \(exit 3\)/);
    expect(calls).toEqual(['/bin/sh -c echo a', '/bin/sh -c echo b']);
    calls.length = 0;
    expect(await runHooks(plan, context())).toEqual(['onCreateCommand']);
    expect(calls).toEqual(['/bin/sh -c echo a', '/bin/sh -c echo b', '/bin/sh -c echo config']);
    calls.length = 0;
    const attach = plan.input.devcontainer?.postAttach;
    const runs = await runAttachHook(attach as NonNullable<typeof attach>, context().exec, () => undefined);
    expect(calls).toEqual(['/bin/sh -c echo a-attach', '/bin/sh -c echo config-attach']);
    expect(runs.map((r) => r.feature)).toEqual(['./a', undefined]);
  });
});

describe('status drift of a privileged devcontainer workspace', () => {
  it('reads the file again without the opt-in up needed: no drift while unchanged, drift after an edit', async () => {
    const root = mkdtempSync(join(tmpdir(), 'berth-dcpriv-'));
    try {
      mkdirSync(join(root, '.devcontainer'));
      const file = join(root, '.devcontainer/devcontainer.json');
      writeFileSync(file, '{"image":"i","runArgs":["--cap-add=SYS_PTRACE"]}');
      const plan = planDevcontainer(readDevcontainer({ workspaceFolder: root, env: {} }), { root, allowPrivileged: true });
      const origin = plan.input.devcontainer as NonNullable<typeof plan.input.devcontainer>;
      expect(await devcontainerDrift(origin, root, {})).toBeNull();
      writeFileSync(file, '{"image":"i","runArgs":["--cap-add=SYS_ADMIN"]}');
      expect((await devcontainerDrift(origin, root, {}))?.reason).toMatch(/changed since the workspace came up/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
