import { describe, expect, it } from 'vitest';
import { BerthError } from '../../src/errors.js';
import { ProcessError } from '../../src/process/index.js';
import { buildCommand, createCommand, interactiveExecCommand, memoryFlag } from '../../src/runtime/apple/commands.js';
import { classifyAppleError, classifyAppleExecFailure, isSystemDown } from '../../src/runtime/apple/classify-error.js';
import { appleContainers, appleImages, appleNetworks, normalizeContainer, normalizeDate, normalizeImage, normalizeNetwork } from '../../src/runtime/apple/records.js';
import { atLeast, isSupported, parseAppleVersion } from '../../src/runtime/apple/version.js';
import { parseJsonOutput } from '../../src/runtime/parse.js';

/*
 * Shapes and texts from shared/research/apple-container.md (read from apple/container's source at
 * 1.2.2 and older tags). Section numbers name where each comes from.
 */

/** §3.3: `container list --all --format json`, 1.2.2, one line, sorted keys, `\/`-escaped slashes. */
const LIST_1_2 =
  '[{"configuration":{"capAdd":[],"capDrop":[],"creationDate":"2026-08-07T10:00:00Z","dns":{"domain":"test","nameservers":[],"options":[],"searchDomains":[]},"id":"web","image":{"descriptor":{"digest":"sha256:abc123","mediaType":"application\\/vnd.oci.image.index.v1+json","size":10229},"reference":"docker.io\\/library\\/nginx:latest"},"initProcess":{"arguments":["-g","daemon off;"],"environment":["PATH=\\/usr\\/bin"],"executable":"\\/docker-entrypoint.sh","rlimits":[],"supplementalGroups":[],"terminal":false,"user":{"id":{"gid":0,"uid":0}},"workingDirectory":"\\/"},"labels":{"berth.workspace":"ws1"},"mounts":[{"destination":"\\/workspace","options":[],"source":"\\/Users\\/me\\/proj","type":{"virtiofs":{}}},{"destination":"\\/data","options":["ro"],"source":"\\/Users\\/me\\/data","type":{"virtiofs":{}}},{"destination":"\\/tmp","options":[],"source":"tmpfs","type":{"tmpfs":{}}}],"networks":[{"network":"default","options":{"hostname":"web.test.","mtu":1280}}],"platform":{"architecture":"arm64","os":"linux"},"publishedPorts":[{"containerPort":80,"count":1,"hostAddress":"127.0.0.1","hostPort":8080,"proto":"tcp"}],"publishedSockets":[],"readOnly":false,"resources":{"cpuOverhead":1,"cpus":4,"memoryInBytes":1073741824},"rosetta":false,"runtimeHandler":"container-runtime-linux","ssh":false,"stopSignal":"SIGQUIT","sysctls":{},"useInit":false,"virtualization":false},"id":"web","status":{"networks":[{"hostname":"web.test.","ipv4Address":"192.168.64.3\\/24","ipv4Gateway":"192.168.64.1","macAddress":"f6:12:34:56:78:9a","mtu":1280,"network":"default","variant":"reserved"}],"startedDate":"2026-08-07T10:00:05Z","state":"running"}}]\n';

/** §3.3 facts: a created container is `stopped`, with `networks: []` and no startedDate. */
const CREATED_1_2 = '[{"configuration":{"id":"fresh","image":{"reference":"docker.io\\/library\\/alpine:latest"},"labels":{},"mounts":[],"publishedPorts":[]},"id":"fresh","status":{"networks":[],"state":"stopped"}}]';

/** §0: post-1.2.2 builds add exitCode and exitedAt; unknown fields must be tolerated. */
const STOPPED_1_4 = '[{"configuration":{"id":"old","image":{"reference":"x"},"labels":{},"mounts":[],"publishedPorts":[],"futureField":{"a":1}},"id":"old","status":{"exitCode":137,"exitedAt":"2026-09-01T00:00:00Z","networks":[],"startedDate":"2026-08-31T00:00:00Z","state":"stopped"}}]';

/** §3.4: 0.8–0.12.3, unsorted, status a string, networks top level, dates in seconds since 2001. */
const LIST_0_12 = '[{"status":"running","configuration":{"id":"legacy","labels":{"k":"v"},"mounts":[],"image":{"reference":"docker.io/library/alpine:latest"}},"networks":[{"ipv4Address":"192.168.64.7/24","ipv4Gateway":"192.168.64.1","network":"default"}],"startedDate":776523456.5}]';

/** §3.4: 0.1–0.7, `address` instead of ipv4Address. */
const LIST_0_7 = '[{"status":"running","configuration":{"id":"ancient","labels":{}},"networks":[{"network":"default","hostname":"ancient","address":"192.168.64.9/24","gateway":"192.168.64.1"}]}]';

/** §3.5: 1.x ImageResource. */
const IMAGE_1_2 =
  '[\n  {\n    "configuration" : {\n      "creationDate" : "2026-07-01T00:00:00Z",\n      "descriptor" : {\n        "digest" : "sha256:0123abcd",\n        "mediaType" : "application\\/vnd.oci.image.index.v1+json",\n        "size" : 1609\n      },\n      "name" : "docker.io\\/library\\/alpine:latest"\n    },\n    "id" : "0123abcd",\n    "variants" : [\n      {\n        "config" : {\n          "architecture" : "arm64",\n          "config" : {\n            "Labels" : {\n              "maintainer" : "me"\n            }\n          },\n          "os" : "linux",\n          "rootfs" : {\n            "diff_ids" : [],\n            "type" : "layers"\n          }\n        },\n        "digest" : "sha256:99",\n        "platform" : {\n          "architecture" : "arm64",\n          "os" : "linux"\n        },\n        "size" : 4000000\n      }\n    ]\n  }\n]\n';

/** §3.5: 0.x ImageDetail. */
const IMAGE_0_12 = '[{"name":"alpine:latest","index":{"digest":"sha256:feed","size":1},"variants":[{"platform":{"os":"linux","architecture":"arm64"},"size":10}]}]';

/** §3.6: 1.x network; builtin default and a host-only one. */
const NETWORKS_1_2 =
  '[{"configuration":{"creationDate":"2026-08-07T00:00:00Z","labels":{"com.apple.container.resource.role":"builtin"},"mode":"nat","name":"default","options":{},"plugin":"container-network-vmnet"},"id":"default","status":{"ipv4Gateway":"192.168.64.1","ipv4Subnet":"192.168.64.0\\/24"}},{"configuration":{"creationDate":"2026-08-07T00:00:00Z","labels":{"dev.berth.managed":"true"},"mode":"hostOnly","name":"berth-egress","options":{},"plugin":"container-network-vmnet"},"id":"berth-egress","status":{"ipv4Gateway":"192.168.65.1","ipv4Subnet":"192.168.65.0\\/24"}}]';

/** §3.6: 0.x network. */
const NETWORKS_0_x = '[{"id":"n1","state":"running","config":{"id":"n1","mode":"hostOnly","labels":{}},"status":{"address":"192.168.66.0/24","gateway":"192.168.66.1"}}]';

const COMMAND = ['container', 'list', '--all', '--format', 'json'];

describe('Apple container records', () => {
  it('reads the 1.x list shape (§3.3)', () => {
    const [info] = parseJsonOutput(appleContainers, LIST_1_2, COMMAND).map(normalizeContainer);
    expect(info).toEqual({
      id: 'web',
      name: 'web',
      state: 'running',
      image: 'docker.io/library/nginx:latest',
      imageId: 'abc123',
      labels: { 'berth.workspace': 'ws1' },
      mounts: [
        { source: '/Users/me/proj', target: '/workspace', readOnly: false },
        { source: '/Users/me/data', target: '/data', readOnly: true },
      ],
      ip: '192.168.64.3',
      ports: [{ hostAddress: '127.0.0.1', hostPort: 8080, containerPort: 80, protocol: 'tcp' }],
      createdAt: '2026-08-07T10:00:00Z',
      startedAt: '2026-08-07T10:00:05Z',
      exitCode: null,
      cpus: 4,
      memoryBytes: 1073741824,
    });
  });

  it('reads a never-started container as created, with no IP', () => {
    expect(parseJsonOutput(appleContainers, CREATED_1_2, COMMAND).map(normalizeContainer)[0]).toMatchObject({ state: 'created', ip: null, startedAt: null });
  });

  it('tolerates fields newer releases add, and reads their exit code', () => {
    expect(parseJsonOutput(appleContainers, STOPPED_1_4, COMMAND).map(normalizeContainer)[0]).toMatchObject({ state: 'stopped', exitCode: 137 });
  });

  it('reads the 0.8–0.12 shape: status string, top-level networks, seconds since 2001 (§3.4)', () => {
    const [info] = parseJsonOutput(appleContainers, LIST_0_12, COMMAND).map(normalizeContainer);
    expect(info).toMatchObject({ id: 'legacy', name: 'legacy', state: 'running', ip: '192.168.64.7', labels: { k: 'v' } });
    expect(info?.startedAt).toBe(new Date(Date.UTC(2001, 0, 1) + 776523456.5 * 1000).toISOString());
  });

  it('reads the 0.1–0.7 shape with `address` (§3.4)', () => {
    expect(parseJsonOutput(appleContainers, LIST_0_7, COMMAND).map(normalizeContainer)[0]).toMatchObject({ id: 'ancient', state: 'running', ip: '192.168.64.9' });
  });

  it('converts Swift reference dates', () => {
    expect(normalizeDate(0)).toBe('2001-01-01T00:00:00.000Z');
    expect(normalizeDate('2026-08-07T10:00:00Z')).toBe('2026-08-07T10:00:00Z');
    expect(normalizeDate(undefined)).toBeNull();
  });

  it('reads images in the 1.x and 0.x shapes (§3.5)', () => {
    expect(parseJsonOutput(appleImages, IMAGE_1_2, ['container', 'image', 'inspect']).map(normalizeImage)).toEqual([
      { id: '0123abcd', tags: ['docker.io/library/alpine:latest'], labels: { maintainer: 'me' }, createdAt: '2026-07-01T00:00:00Z', sizeBytes: 4000000 },
    ]);
    expect(parseJsonOutput(appleImages, IMAGE_0_12, ['container', 'image', 'inspect']).map(normalizeImage)[0]).toMatchObject({ id: 'feed', tags: ['alpine:latest'] });
  });

  it('reads networks in the 1.x and 0.x shapes (§3.6); hostOnly is internal', () => {
    expect(parseJsonOutput(appleNetworks, NETWORKS_1_2, ['container', 'network', 'list']).map(normalizeNetwork)).toEqual([
      { name: 'default', id: 'default', internal: false, subnet: '192.168.64.0/24', gateway: '192.168.64.1', labels: { 'com.apple.container.resource.role': 'builtin' }, bridge: null },
      { name: 'berth-egress', id: 'berth-egress', internal: true, subnet: '192.168.65.0/24', gateway: '192.168.65.1', labels: { 'dev.berth.managed': 'true' }, bridge: null },
    ]);
    expect(parseJsonOutput(appleNetworks, NETWORKS_0_x, ['container', 'network', 'list']).map(normalizeNetwork)[0]).toMatchObject({ internal: true, subnet: '192.168.66.0/24', gateway: '192.168.66.1' });
  });

  it('names the field when the output does not fit', () => {
    expect(() => parseJsonOutput(appleContainers, '[{"configuration":{"id":1},"status":"running"}]', COMMAND)).toThrow(/field \[0\]\.configuration\.id/);
  });
});

describe('Apple container version (§3.8)', () => {
  it('parses `--version` and compares', () => {
    const version = parseAppleVersion('container CLI version 1.2.2 (build: release, commit: 1a2b3c4)\n');
    expect(version).toEqual({ text: '1.2.2', major: 1, minor: 2, patch: 2 });
    if (!version) return;
    expect(atLeast(version, '1.0.0')).toBe(true);
    expect(atLeast(version, '1.2.3')).toBe(false);
    expect(isSupported(version)).toBe(true);
    expect(parseAppleVersion('container CLI version 0.9.0 (build: release, commit: unspecified)')?.text).toBe('0.9.0');
    expect(parseAppleVersion('nonsense')).toBeUndefined();
  });
});

/** §4.2 texts, each with the exit code the doc gives. */
function failure(stderr: string, exitCode = 1): ProcessError {
  return new ProcessError({ command: ['container', 'x'], failure: 'exit', exitCode, signal: null, durationMs: 1, stdout: '', stderr });
}

describe('Apple container errors (§4)', () => {
  const cases: [string, string, Parameters<typeof classifyAppleError>[1], BerthError['code']][] = [
    ['run, name taken', 'Error: container with id web already exists\n', { container: 'web' }, 'E_CONFLICT'],
    ['create, name taken', 'Error: container already exists: web\n', { container: 'web' }, 'E_CONFLICT'],
    ['inspect, missing (1.x)', 'Error: container not found: x\n', { container: 'x' }, 'E_NOT_FOUND'],
    ['start, missing', 'Error: get failed: container x not found\n', { container: 'x' }, 'E_NOT_FOUND'],
    ['logs, missing', 'Error: failed to get logs for container x (cause: "get failed: container x not found")\n', { container: 'x' }, 'E_NOT_FOUND'],
    ['stop, missing (aggregate)', 'Error: internalError: "failed to stop container" (cause: "notFound: "container with ID x not found"")\n', { container: 'x' }, 'E_NOT_FOUND'],
    ['delete, missing (0.x)', 'Error: notFound: "failed to delete one or more containers: ["x"]"\n', { container: 'x' }, 'E_NOT_FOUND'],
    ['exec, stopped', 'Error: container web is not running\n', { container: 'web' }, 'E_NOT_RUNNING'],
    ['delete, running', 'Error: internalError: "failed to delete container" (cause: "invalidState: "container web is running and can not be deleted"")\n', { container: 'web' }, 'E_CONFLICT'],
    ['system down (run)', 'Error: interrupted: "XPC connection error: Connection invalid"\nEnsure container system service has been started with `container system start`.\n', { container: 'web' }, 'E_RUNTIME_UNAVAILABLE'],
    ['system down (list)', 'Error: internalError: "failed to list containers" (cause: "interrupted: "XPC connection error: Connection invalid"")\nEnsure container system service has been started with `container system start`.\n', {}, 'E_RUNTIME_UNAVAILABLE'],
    ['image missing', 'Error: image not found: nope\n', { image: 'nope' }, 'E_NOT_FOUND'],
    // Berth never pulls (it checks the image before create), so a registry's text is not read as "image missing".
    ['pull 404', 'Error: HTTP request to https://registry.example/v2/library/nope/manifests/latest failed with response: 404 Not Found. Reason: x\n', { image: 'nope' }, 'E_RUNTIME_FAILED'],
    ['image missing (0.9 to 0.12)', 'nope: Image not found\nError: InspectError(succeeded: [], failed: [("nope", notFound: "Image not found")])\n', { image: 'nope' }, 'E_NOT_FOUND'],
    ['delete while stopping', 'Error: container web is stopping and can not be deleted\n', { container: 'web' }, 'E_CONFLICT'],
    ['macOS 15: no network plugin', "Error: Plugin 'container-network' not found.\n\n- If system services are not running, start them with: container system start\n", { network: 'n1' }, 'E_UNSUPPORTED'],
    ['network missing', 'Error: network not found: n1\n', { network: 'n1' }, 'E_NOT_FOUND'],
    ['network delete missing', 'Error: failed to delete one or more networks: ["n1"]\n', { network: 'n1' }, 'E_NOT_FOUND'],
    ['network exists', 'Error: network n1 already exists\n', { network: 'n1' }, 'E_CONFLICT'],
    ['invalid id', 'Error: container ID a is not a valid container ID\n', { container: 'a' }, 'E_INVALID_INPUT'],
    ['memory minimum', 'Error: minimum memory amount allowed is 200 MiB (got 512 bytes)\n', { container: 'web' }, 'E_INVALID_INPUT'],
    ['bind source missing', "Error: path '/nope' does not exist\n", { container: 'web' }, 'E_INVALID_INPUT'],
    ['something else', 'Error: internalError: "boom"\n', { container: 'web' }, 'E_RUNTIME_FAILED'],
  ];
  it.each(cases)('%s', (_what, stderr, subject, code) => {
    const error = classifyAppleError(failure(stderr), subject);
    expect(error).toBeInstanceOf(BerthError);
    expect((error as BerthError).code).toBe(code);
  });

  it('knows "system not running" by its words (driver rule in §4.2)', () => {
    expect(isSystemDown('XPC connection error: Connection interrupted')).toBe(true);
    expect(isSystemDown('Ensure container system service has been started with `container system start`.')).toBe(true);
    expect(isSystemDown('Error: container web is not running')).toBe(false);
  });

  it("leaves a command's own exit codes and output to the caller", () => {
    expect(classifyAppleExecFailure('web', 3, 'Error: container web is not running\n')).toBeUndefined();
    expect(classifyAppleExecFailure('web', 1, 'grep: no match\n')).toBeUndefined();
    expect(classifyAppleExecFailure('web', 1, 'my tool: container web is not running\n')).toBeUndefined();
    expect(classifyAppleExecFailure('web', 1, 'Error: container web is not running\n')).toMatchObject({ code: 'E_NOT_RUNNING' });
    expect(classifyAppleExecFailure('web', 1, 'Error: get failed: container web not found\n')).toMatchObject({ code: 'E_NOT_FOUND' });
  });

  it('reports a missing binary as the runtime being unavailable, naming BERTH_CONTAINER_BIN', () => {
    const missing = new ProcessError({ command: ['/usr/local/bin/container'], failure: 'not-found', exitCode: null, signal: null, durationMs: 0, stdout: '', stderr: '' });
    expect(classifyAppleError(missing, {})).toMatchObject({ code: 'E_RUNTIME_UNAVAILABLE', hint: expect.stringContaining('BERTH_CONTAINER_BIN') as unknown });
  });
});

describe('Apple container command lines (§2)', () => {
  const v122 = { text: '1.2.2', major: 1, minor: 2, patch: 2 };
  const v09 = { text: '0.9.0', major: 0, minor: 9, patch: 0 };
  const spec = {
    name: 'berth-ws',
    image: 'berth-workspace:latest',
    command: ['tail', '-f', '/dev/null'],
    init: true,
    labels: { 'dev.berth.managed': 'true' },
    env: { TOKEN: 'secret value' },
    mounts: [{ source: '/Users/me/p', target: '/workspace', readOnly: false }],
    workdir: '/workspace',
    cpus: 2,
    memoryBytes: 2 * 1024 ** 3,
    ports: [{ hostAddress: '127.0.0.1', hostPort: 49001, containerPort: 41000, protocol: 'tcp' as const }],
  };

  it('creates with memory in explicit units, env names only, virtiofs mounts and --init (1.x)', () => {
    const command = createCommand(spec, v122);
    expect(command.args).toEqual([
      'create', '--name', 'berth-ws', '--label', 'dev.berth.managed=true', '--env', 'TOKEN',
      '--mount', 'type=virtiofs,source=/Users/me/p,target=/workspace', '--workdir', '/workspace',
      '--cpus', '2', '--memory', '2048m', '--publish', '127.0.0.1:49001:41000/tcp', '--init',
      'berth-workspace:latest', 'tail', '-f', '/dev/null',
    ]);
    expect(command.env).toEqual({ TOKEN: 'secret value' });
    expect(command.args.join(' ')).not.toContain('secret');
  });

  it('renders volumes and tmpfs as --mount type=volume|tmpfs, and a build target as --target (0.9 has both)', () => {
    const args = createCommand({ ...spec, volumes: [{ name: 'data', target: '/data', readOnly: true }, { name: null, target: '/anon', readOnly: false }], tmpfs: [{ target: '/t' }] }, v09).args;
    expect(args.join(' ')).toContain('--mount type=virtiofs,source=/Users/me/p,target=/workspace --mount type=volume,source=data,target=/data,readonly --mount type=volume,target=/anon --mount type=tmpfs,target=/t');
    expect(buildCommand({ contextDir: '/ctx', tag: 't:1', target: 'dev' }).args).toEqual(['build', '--tag', 't:1', '--progress', 'plain', '--target', 'dev', '/ctx']);
  });

  it('runs detached without progress output when asked to start', () => {
    expect(createCommand(spec, v122, { start: true }).args.slice(0, 5)).toEqual(['run', '--detach', '--progress', 'none', '--name']);
  });

  it('plays init with a sh wrapper before --init existed (0.10)', () => {
    const args = createCommand(spec, v09).args;
    expect(args).not.toContain('--init');
    expect(args.slice(-8, -4)).toEqual(['berth-workspace:latest', '/bin/sh', '-c', expect.stringContaining('trap') as unknown]);
    expect(args.slice(-4)).toEqual(['sh', 'tail', '-f', '/dev/null']);
  });

  it('sizes memory in MiB, never as a bare number (which Apple reads as bytes)', () => {
    expect(memoryFlag(512 * 1024 * 1024)).toBe('512m');
    expect(memoryFlag(512 * 1024 * 1024 + 1)).toBe('512m');
  });

  it('builds exec and build lines', () => {
    expect(interactiveExecCommand('berth-ws', ['ls'], { env: { A: '1' }, workdir: '/w' }, false).args).toEqual(['exec', '--interactive', '--env', 'A', '--workdir', '/w', 'berth-ws', 'ls']);
    expect(buildCommand({ contextDir: '/ctx', tag: 't:1', buildArgs: { V: '2' } }).args).toEqual(['build', '--tag', 't:1', '--progress', 'plain', '--build-arg', 'V=2', '/ctx']);
  });
});
