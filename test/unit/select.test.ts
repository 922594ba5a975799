import { describe, expect, it } from 'vitest';
import { BerthError } from '../../src/errors.js';
import { detectRuntimes, parseRuntimeChoice, selectRuntime } from '../../src/runtime/select.js';
import { APPLE_CONTAINER_DEFAULT_BIN } from '../../src/runtime/apple-binary.js';
import type { DetectionReport, SelectionInput } from '../../src/runtime/select.js';

type Probe = NonNullable<SelectionInput['probeEngine']>;

interface World {
  /** Paths isExecutable says yes to. */
  executables?: string[];
  /** Engines whose probe answers ok. */
  answering?: ('apple' | 'docker' | 'podman')[];
  platform?: NodeJS.Platform;
  arch?: string;
  env?: NodeJS.ProcessEnv;
}

/** A fake machine: records every isExecutable and probe call, and never touches a real engine. */
function world({ executables = [], answering = [], platform = 'linux', arch = 'x64', env = {} }: World = {}) {
  const checked: string[] = [];
  const probed: { kind: string; binary: string; env: NodeJS.ProcessEnv }[] = [];
  const probeEngine: Probe = (kind, binary, probeEnv) => {
    probed.push({ kind, binary, env: probeEnv });
    const ok = answering.includes(kind);
    return Promise.resolve({ ok, detail: ok ? `${kind} 1.2.3 is answering.` : `${kind} cannot reach its daemon.` });
  };
  const input: SelectionInput = {
    env,
    platform,
    arch,
    probeEngine,
    isExecutable: (path) => {
      checked.push(path);
      return executables.includes(path);
    },
  };
  return { input, checked, probed };
}

function report(reports: readonly DetectionReport[], kind: DetectionReport['kind']): DetectionReport {
  const found = reports.find((r) => r.kind === kind);
  if (!found) throw new Error(`no report for ${kind}`);
  return found;
}

async function rejection(promise: Promise<unknown>): Promise<BerthError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(BerthError);
  return error as BerthError;
}

describe('selectRuntime: explicit choices', () => {
  it('takes --runtime over BERTH_RUNTIME over the config file, without detecting', async () => {
    const { input, checked, probed } = world({ env: { BERTH_RUNTIME: 'podman' }, executables: ['docker'], answering: ['docker'] });
    expect(await selectRuntime({ ...input, flag: 'host', configRuntime: 'docker' })).toEqual({ kind: 'host', source: 'flag', reports: [] });
    expect(await selectRuntime({ ...input, configRuntime: 'docker' })).toEqual({ kind: 'podman', source: 'env', reports: [] });
    expect(checked).toEqual([]);
    expect(probed).toEqual([]);
  });

  it('uses the config file when neither flag nor env says', async () => {
    const { input } = world();
    expect(await selectRuntime({ ...input, configRuntime: 'docker' })).toEqual({ kind: 'docker', source: 'config', reports: [] });
  });

  it('takes an explicit choice as given, even one that is not available here', async () => {
    const { input } = world({ platform: 'linux' });
    expect(await selectRuntime({ ...input, flag: 'apple' })).toEqual({ kind: 'apple', source: 'flag', reports: [] });
  });

  it('skips empty values', async () => {
    const { input } = world({ env: { BERTH_RUNTIME: '' } });
    expect(await selectRuntime({ ...input, flag: '', configRuntime: 'podman' })).toEqual({ kind: 'podman', source: 'config', reports: [] });
  });

  it.each([
    ['--runtime auto', { flag: 'auto' }, { BERTH_RUNTIME: 'podman' }],
    ['BERTH_RUNTIME=auto', {}, { BERTH_RUNTIME: 'auto' }],
    ['config auto', { configRuntime: 'auto' }, {}],
  ] as const)('%s means detection, ignoring lower levels', async (_label, choice, env) => {
    const { input, probed } = world({ env, executables: ['docker', 'podman'], answering: ['docker', 'podman'] });
    const selection = await selectRuntime({ ...input, configRuntime: 'podman', ...choice });
    expect(selection.kind).toBe('docker');
    expect(selection.source).toBe('detected');
    expect(selection.reports.map((r) => r.kind)).toEqual(['apple', 'docker', 'podman', 'host']);
    expect(probed.map((p) => p.kind).sort()).toEqual(['docker', 'podman']);
  });

  it.each([
    ['flag', { flag: 'dokcer' }, {}, '"dokcer"', '--runtime'],
    ['env', {}, { BERTH_RUNTIME: 'Docker' }, '"Docker"', 'BERTH_RUNTIME'],
    ['config', { configRuntime: 'lxc' }, {}, '"lxc"', 'the config file (runtime)'],
  ] as const)('rejects an unknown value from the %s, naming where it came from', async (_label, choice, env, value, where) => {
    const { input } = world({ env });
    const error = await rejection(selectRuntime({ ...input, ...choice }));
    expect(error.code).toBe('E_INVALID_INPUT');
    expect(error.message).toBe(`Unknown runtime ${value} (from ${where}).`);
    expect(error.hint).toBe('Use one of: apple, docker, podman, host, auto.');
  });

  it('does not look at lower levels once a higher one decided', async () => {
    const { input } = world({ env: { BERTH_RUNTIME: 'bogus' } });
    expect(await selectRuntime({ ...input, flag: 'docker', configRuntime: 'also-bogus' })).toEqual({ kind: 'docker', source: 'flag', reports: [] });
  });
});

describe('parseRuntimeChoice', () => {
  it.each(['apple', 'docker', 'podman', 'host', 'auto'])('accepts %s', (value) => {
    expect(parseRuntimeChoice(value, 'x')).toBe(value);
  });

  it('throws E_INVALID_INPUT naming the source', () => {
    expect(() => parseRuntimeChoice('kvm', '--runtime')).toThrow(BerthError);
    expect(() => parseRuntimeChoice('kvm', '--runtime')).toThrow('Unknown runtime "kvm" (from --runtime).');
  });
});

describe('detectRuntimes', () => {
  it('reports on every strategy, in order apple → docker → podman → host, each with a reason', async () => {
    const { input } = world();
    const reports = await detectRuntimes(input);
    expect(reports.map((r) => r.kind)).toEqual(['apple', 'docker', 'podman', 'host']);
    for (const r of reports) expect(r.reason.length).toBeGreaterThan(10);
  });

  it('says apple needs macOS on Apple Silicon on linux, and does not look for its binary', async () => {
    const { input, checked } = world({ platform: 'linux', arch: 'x64' });
    const reports = await detectRuntimes(input);
    expect(report(reports, 'apple')).toEqual({ kind: 'apple', applies: false, reason: 'needs macOS on Apple Silicon; this is linux/x64.' });
    expect(checked).not.toContain(APPLE_CONTAINER_DEFAULT_BIN);
  });

  it('says apple needs Apple Silicon on an Intel mac', async () => {
    const { input } = world({ platform: 'darwin', arch: 'x64', executables: [APPLE_CONTAINER_DEFAULT_BIN] });
    expect(report(await detectRuntimes(input), 'apple')).toEqual({ kind: 'apple', applies: false, reason: 'needs macOS on Apple Silicon; this is darwin/x64.' });
  });

  it('on darwin/arm64 with the Apple CLI present, applies when its system answers', async () => {
    const { input, probed } = world({ platform: 'darwin', arch: 'arm64', executables: [APPLE_CONTAINER_DEFAULT_BIN], answering: ['apple'] });
    expect(report(await detectRuntimes(input), 'apple')).toEqual({ kind: 'apple', applies: true, reason: 'apple 1.2.3 is answering.' });
    expect(probed).toContainEqual(expect.objectContaining({ kind: 'apple', binary: APPLE_CONTAINER_DEFAULT_BIN }));
  });

  it('on darwin/arm64 with the Apple system stopped, does not apply and says why', async () => {
    const { input } = world({ platform: 'darwin', arch: 'arm64', executables: [APPLE_CONTAINER_DEFAULT_BIN] });
    expect(report(await detectRuntimes(input), 'apple')).toEqual({ kind: 'apple', applies: false, reason: 'apple cannot reach its daemon.' });
  });

  it('on darwin/arm64 without the Apple CLI: says where it looked, honouring BERTH_CONTAINER_BIN', async () => {
    const plain = world({ platform: 'darwin', arch: 'arm64' });
    expect(report(await detectRuntimes(plain.input), 'apple')).toEqual({
      kind: 'apple',
      applies: false,
      reason: `no Apple container CLI at ${APPLE_CONTAINER_DEFAULT_BIN} (install it from Apple's container releases).`,
    });
    const custom = world({ platform: 'darwin', arch: 'arm64', env: { BERTH_CONTAINER_BIN: '/opt/container' } });
    expect(report(await detectRuntimes(custom.input), 'apple').reason).toBe(
      "no Apple container CLI at /opt/container (install it from Apple's container releases).",
    );
    expect(custom.checked).toContain('/opt/container');
    expect(custom.checked).not.toContain(APPLE_CONTAINER_DEFAULT_BIN);
  });

  it('a missing docker binary says so and names BERTH_DOCKER_BIN; it is not probed', async () => {
    const { input, probed } = world({ executables: ['podman'], answering: ['podman'] });
    const reports = await detectRuntimes(input);
    expect(report(reports, 'docker')).toEqual({
      kind: 'docker',
      applies: false,
      reason: '`docker` not found on PATH (install docker, or set BERTH_DOCKER_BIN).',
    });
    expect(probed.map((p) => p.kind)).toEqual(['podman']);
  });

  it('a missing podman binary names BERTH_PODMAN_BIN', async () => {
    const { input } = world();
    expect(report(await detectRuntimes(input), 'podman').reason).toBe('`podman` not found on PATH (install podman, or set BERTH_PODMAN_BIN).');
  });

  it('uses BERTH_DOCKER_BIN as the path it checks and probes, and drops "on PATH" for a path', async () => {
    const env = { BERTH_DOCKER_BIN: '/opt/docker/bin/docker', BERTH_PODMAN_BIN: '/opt/podman' };
    const present = world({ env, executables: ['/opt/docker/bin/docker'], answering: ['docker'] });
    const reports = await detectRuntimes(present.input);
    expect(present.checked).toContain('/opt/docker/bin/docker');
    expect(present.checked).not.toContain('docker');
    expect(present.probed).toEqual([{ kind: 'docker', binary: '/opt/docker/bin/docker', env }]);
    expect(report(reports, 'docker')).toEqual({ kind: 'docker', applies: true, reason: 'docker 1.2.3 is answering.' });
    expect(report(reports, 'podman').reason).toBe('`/opt/podman` not found (install podman, or set BERTH_PODMAN_BIN).');

    const absent = world({ env: { BERTH_DOCKER_BIN: '/opt/docker/bin/docker' } });
    expect(report(await detectRuntimes(absent.input), 'docker').reason).toBe(
      '`/opt/docker/bin/docker` not found (install docker, or set BERTH_DOCKER_BIN).',
    );
  });

  it('reports the probe detail when the binary is there but the engine does not answer', async () => {
    const { input } = world({ executables: ['docker'] });
    expect(report(await detectRuntimes(input), 'docker')).toEqual({ kind: 'docker', applies: false, reason: 'docker cannot reach its daemon.' });
  });

  it('host always applies', async () => {
    const { input } = world();
    expect(report(await detectRuntimes(input), 'host')).toEqual({
      kind: 'host',
      applies: true,
      reason: 'always available: runs on this machine without isolation.',
    });
  });
});

describe('selectRuntime: detection', () => {
  it('prefers docker over podman when both answer', async () => {
    const { input } = world({ executables: ['docker', 'podman'], answering: ['docker', 'podman'] });
    const selection = await selectRuntime(input);
    expect(selection.kind).toBe('docker');
    expect(selection.source).toBe('detected');
  });

  it('chooses podman when the docker binary is there but its probe fails', async () => {
    const { input, probed } = world({ executables: ['docker', 'podman'], answering: ['podman'] });
    const selection = await selectRuntime(input);
    expect(selection).toMatchObject({ kind: 'podman', source: 'detected' });
    expect(report(selection.reports, 'docker')).toEqual({ kind: 'docker', applies: false, reason: 'docker cannot reach its daemon.' });
    expect(probed.map((p) => p.kind).sort()).toEqual(['docker', 'podman']);
  });

  it('prefers apple over docker and podman on an Apple Silicon Mac where its system runs', async () => {
    const { input } = world({ platform: 'darwin', arch: 'arm64', executables: [APPLE_CONTAINER_DEFAULT_BIN, 'docker', 'podman'], answering: ['apple', 'docker', 'podman'] });
    expect(await selectRuntime(input)).toMatchObject({ kind: 'apple', source: 'detected' });
  });

  it('falls through to podman when the Apple system is stopped (detection never starts it)', async () => {
    const { input } = world({ platform: 'darwin', arch: 'arm64', executables: [APPLE_CONTAINER_DEFAULT_BIN, 'podman'], answering: ['podman'] });
    expect(await selectRuntime(input)).toMatchObject({ kind: 'podman', source: 'detected' });
  });

  it('falls back to host when nothing else works, with every report', async () => {
    const { input } = world({ executables: ['docker', 'podman'] });
    const selection = await selectRuntime(input);
    expect(selection.kind).toBe('host');
    expect(selection.source).toBe('fallback');
    expect(selection.reports.map((r) => [r.kind, r.applies])).toEqual([
      ['apple', false],
      ['docker', false],
      ['podman', false],
      ['host', true],
    ]);
  });

  it('falls back to host on a machine with nothing installed', async () => {
    const { input, probed } = world();
    expect(await selectRuntime(input)).toMatchObject({ kind: 'host', source: 'fallback' });
    expect(probed).toEqual([]);
  });
});
