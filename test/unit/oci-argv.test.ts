import { describe, expect, it } from 'vitest';
import {
  buildCommand,
  createCommand,
  execCommand,
  interactiveExecCommand,
  listIdsCommand,
  networkCreateCommand,
  volumeCreateCommand,
  volumeInspectCommand,
  volumeListCommand,
  volumeRemoveCommand,
} from '../../src/runtime/oci/commands.js';
import type { ContainerSpec } from '../../src/runtime/types.js';

const SECRET = 'hunter2-do-not-leak';

/** Every argument that contains the secret, anywhere; must be none. */
function leaks(args: readonly string[]): string[] {
  return args.filter((arg) => arg.includes(SECRET));
}

describe('createCommand', () => {
  it('builds the minimal command: --pull never, name, image, nothing else', () => {
    const command = createCommand({ name: 'berth-min', image: 'alpine:3' });
    expect(command.args).toEqual(['create', '--pull', 'never', '--name', 'berth-min', 'alpine:3']);
    expect(command.env).toEqual({});
  });

  it('builds every flag in a fixed order, image and command last', () => {
    const spec: ContainerSpec = {
      name: 'berth-full',
      image: 'berth-workspace:test',
      command: ['sleep', 'infinity'],
      env: { ZED: 'last', API_TOKEN: SECRET, ALPHA: 'first' },
      labels: { 'dev.berth.workspace': 'fixture', 'dev.berth.managed': 'true', 'a.first': 'x=y' },
      mounts: [
        { source: '/tmp/berth-fixture/src', target: '/workspace', readOnly: false },
        { source: '/tmp/berth-fixture', target: '/tmp/berth-fixture', readOnly: true },
      ],
      workdir: '/workspace',
      user: '1000:1000',
      cpus: 1.5,
      memoryBytes: 2 * 1024 * 1024 * 1024,
      network: 'berth-net',
      ports: [
        { hostAddress: '127.0.0.1', hostPort: 18080, containerPort: 8080, protocol: 'tcp' },
        { hostAddress: '0.0.0.0', hostPort: 5353, containerPort: 53, protocol: 'udp' },
      ],
      init: true,
    };
    const command = createCommand(spec);
    expect(command.args).toEqual([
      'create',
      '--pull',
      'never',
      '--name',
      'berth-full',
      '--label',
      'a.first=x=y',
      '--label',
      'dev.berth.managed=true',
      '--label',
      'dev.berth.workspace=fixture',
      '--env',
      'ALPHA',
      '--env',
      'API_TOKEN',
      '--env',
      'ZED',
      '--mount',
      'type=bind,source=/tmp/berth-fixture/src,target=/workspace',
      '--mount',
      'type=bind,source=/tmp/berth-fixture,target=/tmp/berth-fixture,readonly',
      '--workdir',
      '/workspace',
      '--user',
      '1000:1000',
      '--cpus',
      '1.5',
      '--memory',
      '2147483648b',
      '--network',
      'berth-net',
      '--publish',
      '127.0.0.1:18080:8080/tcp',
      '--publish',
      '0.0.0.0:5353:53/udp',
      '--init',
      'berth-workspace:test',
      'sleep',
      'infinity',
    ]);
    expect(command.env).toEqual({ ZED: 'last', API_TOKEN: SECRET, ALPHA: 'first' });
  });

  it('never puts an environment value on the command line, only --env NAME', () => {
    const command = createCommand({ name: 'berth-env', image: 'img', env: { TOKEN: SECRET, OTHER: `x${SECRET}` } });
    expect(leaks(command.args)).toEqual([]);
    expect(command.args).toEqual(['create', '--pull', 'never', '--name', 'berth-env', '--env', 'OTHER', '--env', 'TOKEN', 'img']);
    expect(command.env).toEqual({ TOKEN: SECRET, OTHER: `x${SECRET}` });
  });

  it('returns a copy of the env, not the caller’s object', () => {
    const env = { A: '1' };
    const command = createCommand({ name: 'berth-copy', image: 'img', env });
    expect(command.env).toEqual({ A: '1' });
    expect(command.env).not.toBe(env);
  });

  it('sorts labels by key regardless of insertion order, so the same spec gives the same argv', () => {
    const a = createCommand({ name: 'berth-lbl', image: 'img', labels: { b: '2', a: '1', c: '3' } });
    const b = createCommand({ name: 'berth-lbl', image: 'img', labels: { c: '3', a: '1', b: '2' } });
    expect(a.args).toEqual(['create', '--pull', 'never', '--name', 'berth-lbl', '--label', 'a=1', '--label', 'b=2', '--label', 'c=3', 'img']);
    expect(b.args).toEqual(a.args);
  });

  it('omits --init when init is false and keeps --pull never', () => {
    const command = createCommand({ name: 'berth-noinit', image: 'img', init: false, command: ['sh', '-c', 'echo hi'] });
    expect(command.args).toEqual(['create', '--pull', 'never', '--name', 'berth-noinit', 'img', 'sh', '-c', 'echo hi']);
  });

  it('writes memory as whole bytes with a b suffix', () => {
    const command = createCommand({ name: 'berth-mem', image: 'img', memoryBytes: 536870912 });
    expect(command.args.slice(5, 7)).toEqual(['--memory', '536870912b']);
  });

  it('keeps hostile command arguments verbatim after the image', () => {
    const hostile = ['--privileged', '; rm -rf /', '$(id)', ''];
    const command = createCommand({ name: 'berth-hostile', image: 'img', command: hostile });
    expect(command.args).toEqual(['create', '--pull', 'never', '--name', 'berth-hostile', 'img', ...hostile]);
  });
});

describe('volumes, tmpfs and build.target', () => {
  it('named and anonymous volumes and tmpfs are --mount flags after the binds; a build target is --target', () => {
    const args = createCommand({
      name: 'berth-v',
      image: 'i',
      mounts: [{ source: '/src', target: '/elsewhere', readOnly: true }],
      volumes: [{ name: 'data-1', target: '/data', readOnly: false, labels: { a: 'b' } }, { name: null, target: '/anon', readOnly: true }],
      tmpfs: [{ target: '/scratch' }],
    }).args;
    expect(args).toEqual(['create', '--pull', 'never', '--name', 'berth-v', '--mount', 'type=bind,source=/src,target=/elsewhere,readonly', '--mount', 'type=volume,source=data-1,target=/data', '--mount', 'type=volume,target=/anon,readonly', '--mount', 'type=tmpfs,target=/scratch', 'i']);
    expect(volumeCreateCommand('podman', 'data-1', { b: '2', a: '1' }).args).toEqual(['volume', 'create', '--label', 'a=1', '--label', 'b=2', 'data-1']);
    expect(buildCommand({ contextDir: '/ctx', tag: 't', target: 'dev' }).args).toEqual(['build', '--tag', 't', '--target', 'dev', '/ctx']);
  });

  it('gc\'s volume calls: ls by every label, inspect read from either engine\'s JSON (a volume gone meanwhile left out), rm of one gone already is done', async () => {
    expect(volumeListCommand({ 'dev.berth.owner': 'o', a: '1' }).args).toEqual(['volume', 'ls', '-q', '--filter', 'label=a=1', '--filter', 'label=dev.berth.owner=o']);
    const result = (stdout: string, exitCode = 0, stderr = '') => ({ command: ['podman'], stdout, stderr, exitCode, signal: null, durationMs: 1 });
    expect(await volumeListCommand({}).parse(result('a\nb\n\n'))).toEqual(['a', 'b']);
    const inspect = volumeInspectCommand(['a', 'gone']);
    expect(inspect.args).toEqual(['volume', 'inspect', 'a', 'gone']);
    expect(await inspect.parse(result('[{"Name":"a","Labels":{"k":"v","n":1},"CreatedAt":"2026-12-04T05:55:22.60551123Z"}]', 1, 'Error: no such volume gone'))).toEqual([{ name: 'a', labels: { k: 'v' }, createdAt: '2026-12-04T05:55:22.60551123Z' }]);
    expect(await inspect.parse(result('[{"Name":"b","Labels":null}]'))).toEqual([{ name: 'b', labels: {}, createdAt: null }]);
    expect(await inspect.parse(result('', 1, 'Error: no such volume'))).toEqual([]);
    expect(volumeRemoveCommand('docker', 'v').args).toEqual(['volume', 'rm', 'v']);
    expect(await volumeRemoveCommand('docker', 'v').parse(result('', 1, 'Error response from daemon: get v: no such volume'))).toBeUndefined();
    await expect(Promise.resolve().then(() => volumeRemoveCommand('docker', 'v').parse(result('', 1, 'Error response from daemon: remove v: volume is in use - [abc]')))).rejects.toThrow(/in use/);
  });

  it('a volume name that is a path, or a target with a comma, is refused before any engine call', async () => {
    const { validateContainerSpec } = await import('../../src/runtime/validate-spec.js');
    expect(() => validateContainerSpec({ name: 'berth-v', image: 'i', volumes: [{ name: '/etc', target: '/x', readOnly: false }] })).toThrow(/Invalid volume name "\/etc"/);
    expect(() => validateContainerSpec({ name: 'berth-v', image: 'i', tmpfs: [{ target: '/a,b' }] })).toThrow(/contains a comma/);
  });
});

describe('execCommand', () => {
  it('runs name then argv, with no --interactive when there is no input', () => {
    const command = execCommand('docker', 'berth-x', ['ls', '-la']);
    expect(command.args).toEqual(['exec', 'berth-x', 'ls', '-la']);
    expect(command.env).toEqual({});
  });

  it('adds --interactive only when input is given (string or bytes, even empty)', () => {
    expect(execCommand('docker', 'berth-x', ['cat'], { input: 'hello' }).args).toEqual(['exec', '--interactive', 'berth-x', 'cat']);
    expect(execCommand('docker', 'berth-x', ['cat'], { input: new Uint8Array([1, 2]) }).args).toEqual(['exec', '--interactive', 'berth-x', 'cat']);
    expect(execCommand('docker', 'berth-x', ['cat'], { input: '' }).args).toEqual(['exec', '--interactive', 'berth-x', 'cat']);
    expect(execCommand('docker', 'berth-x', ['cat'], { input: undefined }).args).toEqual(['exec', 'berth-x', 'cat']);
  });

  it('passes env by name only, sorted, then workdir and user, then name and argv', () => {
    const command = execCommand('docker', 'berth-x', ['printenv', 'TOKEN'], {
      env: { TOKEN: SECRET, ANOTHER: 'a' },
      workdir: '/workspace/sub',
      user: 'root',
      timeoutMs: 5,
    });
    expect(command.args).toEqual([
      'exec',
      '--env',
      'ANOTHER',
      '--env',
      'TOKEN',
      '--workdir',
      '/workspace/sub',
      '--user',
      'root',
      'berth-x',
      'printenv',
      'TOKEN',
    ]);
    expect(leaks(command.args)).toEqual([]);
    expect(command.env).toEqual({ TOKEN: SECRET, ANOTHER: 'a' });
  });
});

describe('interactiveExecCommand', () => {
  it('always attaches stdin; --tty only when asked', () => {
    expect(interactiveExecCommand('berth-x', ['bash'], {}, true)).toEqual({ args: ['exec', '--interactive', '--tty', 'berth-x', 'bash'], env: {} });
    expect(interactiveExecCommand('berth-x', ['bash'], {}, false)).toEqual({ args: ['exec', '--interactive', 'berth-x', 'bash'], env: {} });
  });

  it('passes env by name only, with workdir and user before the name', () => {
    const command = interactiveExecCommand('berth-x', ['bash', '-l'], { env: { TOKEN: SECRET }, workdir: '/w', user: 'dev' }, true);
    expect(command.args).toEqual(['exec', '--interactive', '--tty', '--env', 'TOKEN', '--workdir', '/w', '--user', 'dev', 'berth-x', 'bash', '-l']);
    expect(leaks(command.args)).toEqual([]);
    expect(command.env).toEqual({ TOKEN: SECRET });
  });
});

describe('listIdsCommand', () => {
  it('lists every container id, untruncated, with no filter', () => {
    expect(listIdsCommand().args).toEqual(['ps', '--all', '--quiet', '--no-trunc']);
    expect(listIdsCommand({}).args).toEqual(['ps', '--all', '--quiet', '--no-trunc']);
  });

  it('filters names by an anchored, escaped prefix (docker matches "/name" too)', () => {
    expect(listIdsCommand({ namePrefix: 'berth-' }).args).toEqual(['ps', '--all', '--quiet', '--no-trunc', '--filter', 'name=^/?berth-']);
    expect(listIdsCommand({ namePrefix: 'a.b+' }).args.at(-1)).toBe('name=^/?a\\.b\\+');
  });

  it('filters label=k for true and label=k=v for strings, sorted by key', () => {
    expect(listIdsCommand({ labels: { 'dev.berth.workspace': 'fixture', 'dev.berth.managed': true } }).args).toEqual([
      'ps',
      '--all',
      '--quiet',
      '--no-trunc',
      '--filter',
      'label=dev.berth.managed',
      '--filter',
      'label=dev.berth.workspace=fixture',
    ]);
  });

  it('treats the string "true" as a value, not as presence', () => {
    expect(listIdsCommand({ labels: { 'dev.berth.managed': 'true' } }).args).toEqual([
      'ps',
      '--all',
      '--quiet',
      '--no-trunc',
      '--filter',
      'label=dev.berth.managed=true',
    ]);
  });
});

describe('buildCommand', () => {
  it('builds with tag and context only', () => {
    expect(buildCommand({ contextDir: '/src/images/workspace', tag: 'berth-workspace:1' }).args).toEqual([
      'build',
      '--tag',
      'berth-workspace:1',
      '/src/images/workspace',
    ]);
  });

  it('adds the Dockerfile, sorted build args (values through env) and sorted labels, context last', () => {
    const command = buildCommand({
      contextDir: '/ctx',
      dockerfile: '/ctx/Dockerfile.dev',
      tag: 'img:dev',
      buildArgs: { NODE_VERSION: '22', BASE: 'debian' },
      labels: { 'dev.berth.managed': 'true', 'a.b': 'c' },
    });
    expect(command.env).toEqual({ NODE_VERSION: '22', BASE: 'debian' });
    expect(
      buildCommand({
        contextDir: '/ctx',
        dockerfile: '/ctx/Dockerfile.dev',
        tag: 'img:dev',
        buildArgs: { NODE_VERSION: '22', BASE: 'debian' },
        labels: { 'dev.berth.managed': 'true', 'a.b': 'c' },
      }).args,
    ).toEqual([
      'build',
      '--tag',
      'img:dev',
      '--file',
      '/ctx/Dockerfile.dev',
      '--build-arg',
      'BASE',
      '--build-arg',
      'NODE_VERSION',
      '--label',
      'a.b=c',
      '--label',
      'dev.berth.managed=true',
      '/ctx',
    ]);
  });
});

describe('networkCreateCommand', () => {
  it('creates a plain network', () => {
    expect(networkCreateCommand({ name: 'berth-net' }).args).toEqual(['network', 'create', 'berth-net']);
    expect(networkCreateCommand({ name: 'berth-net', internal: false }).args).toEqual(['network', 'create', 'berth-net']);
  });

  it('creates an internal network with sorted labels, name last', () => {
    expect(networkCreateCommand({ name: 'berth-net', internal: true, labels: { 'dev.berth.workspace': 'w', 'dev.berth.managed': 'true' } }).args).toEqual([
      'network',
      'create',
      '--internal',
      '--label',
      'dev.berth.managed=true',
      '--label',
      'dev.berth.workspace=w',
      'berth-net',
    ]);
  });

});

describe('createCommand --dns', () => {
  it('passes each resolver, before the image', () => {
    const { args } = createCommand({ name: 'c', image: 'img', labels: {}, dnsServers: ['127.0.0.1'] });
    expect(args.slice(args.indexOf('--dns'), args.indexOf('--dns') + 2)).toEqual(['--dns', '127.0.0.1']);
    expect(args.indexOf('--dns')).toBeLessThan(args.indexOf('img'));
  });
});

describe('engine binary', () => {
  it('comes from BERTH_DOCKER_BIN / BERTH_PODMAN_BIN, else the engine name on PATH', async () => {
    const { OciRuntime } = await import('../../src/runtime/oci/oci-runtime.js');
    expect(new OciRuntime('docker', { env: { BERTH_DOCKER_BIN: '/opt/docker/bin/docker' } }).binary).toBe('/opt/docker/bin/docker');
    expect(new OciRuntime('podman', { env: { BERTH_PODMAN_BIN: '/opt/podman' } }).binary).toBe('/opt/podman');
    expect(new OciRuntime('podman', { env: { BERTH_DOCKER_BIN: '/opt/docker' } }).binary).toBe('podman');
  });

  it('reports a binary that is not there as the runtime being unavailable', async () => {
    const { OciRuntime } = await import('../../src/runtime/oci/oci-runtime.js');
    const runtime = new OciRuntime('docker', { env: { PATH: '/usr/bin', BERTH_DOCKER_BIN: '/nonexistent/docker' } });
    await expect(runtime.inspect('berth-x')).rejects.toMatchObject({ code: 'E_RUNTIME_UNAVAILABLE', hint: expect.stringContaining('BERTH_DOCKER_BIN') as unknown });
    expect(await runtime.ensureSystem()).toMatchObject({ running: false });
  });
});

describe('createCommand: the workspace\'s user (user: host)', () => {
  const spec = { name: 'berth-user', image: 'img', hostUser: { uid: 1000, gid: 100 } };
  const userFlags = (args: string[]): string[] => args.filter((arg, i) => arg.startsWith('--user') || args[i - 1]?.startsWith('--user') === true);

  it('rootful engines run as the host uid:gid; rootless podman maps it with keep-id; rootless docker adds nothing (its root is the host user)', () => {
    expect(userFlags(createCommand(spec, true, 'run-as').args)).toEqual(['--user', '1000:100']);
    expect(userFlags(createCommand(spec, true, 'keep-id').args)).toEqual(['--userns', 'keep-id', '--user', '1000:100']);
    expect(userFlags(createCommand(spec, true, 'root-is-host').args)).toEqual([]);
  });

  it('an explicit user wins over hostUser and goes as given', () => {
    expect(userFlags(createCommand({ ...spec, user: '1234:1234' }, true, 'keep-id').args)).toEqual(['--user', '1234:1234']);
  });
});
