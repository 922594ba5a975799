import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BerthError } from '../../src/errors.js';
import {
  containerRecords,
  imageRecords,
  networkRecords,
  normalizeContainer,
  normalizeImage,
  normalizeNetwork,
  normalizeState,
  versionRecord,
} from '../../src/runtime/oci/records.js';
import { parseJsonOutput } from '../../src/runtime/parse.js';
import type { ContainerInfo, ContainerState, Mount } from '../../src/runtime/types.js';

/*
 * Real output recorded from docker 20.10 (daemon) with the docker 28 client, and podman 4.3, for
 * a container created with the fixture spec in test/fixtures/recorded (see podman's CreateCommand).
 */
const recorded = (name: string): string => readFileSync(join(import.meta.dirname, '../fixtures/recorded', name), 'utf8');

type Engine = 'docker' | 'podman';
const ENGINES: readonly Engine[] = ['docker', 'podman'];

const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)$/;

const IDS = {
  docker: {
    container: 'e189cef9dcb3888d384a5ecd6376b450afe5fd3f82a6200a2b4b16bb5dd1dbf1',
    image: '2316782c252e828e42127d01b030f01551173048751c13e6043d360b01af2b41',
    imageRef: 'berth-workspace:test',
    ip: '172.17.0.2',
    created: '2026-11-23T15:09:55.215767552Z',
    started: '2026-11-23T15:09:55.445800104Z',
    exitCode: 143,
  },
  podman: {
    container: '9c2c61a98759d3210f0aca9276e93a5c16540caad7c32a9ab873785a53a0aaf2',
    image: '59c76711efe6cd6738469aac1fafe672fcb7cfe1e96651f12011a5bdf40b16f4',
    imageRef: 'localhost/berth-workspace:test',
    ip: '10.88.0.4',
    created: '2026-11-23T15:09:54.448889239Z',
    started: '2026-11-23T15:09:54.631153183Z',
    exitCode: 137,
  },
} as const;

const LABELS = { 'dev.berth.managed': 'true', 'dev.berth.test-rootfs': 'a426e44c217f', 'dev.berth.workspace': 'fixture' };

const MOUNTS: Mount[] = [
  { source: '/tmp/berth-fixture/src', target: '/workspace', readOnly: false },
  { source: '/tmp/berth-fixture', target: '/tmp/berth-fixture', readOnly: true },
];

const PORTS = [{ hostAddress: '127.0.0.1', hostPort: 18080, containerPort: 8080, protocol: 'tcp' }];

const byTarget = (mounts: readonly Mount[]): Mount[] => [...mounts].sort((a, b) => (a.target < b.target ? -1 : a.target > b.target ? 1 : 0));

function inspect(engine: Engine, state: 'created' | 'running' | 'stopped'): ContainerInfo {
  const command = [engine, 'container', 'inspect', 'berth-fixture'];
  const records = parseJsonOutput(containerRecords, recorded(`${engine}-inspect-${state}.json`), command);
  expect(records).toHaveLength(1);
  const [record] = records;
  if (!record) throw new Error('no record');
  return normalizeContainer(record);
}

/** Runs `fn` and returns what it threw, failing the test when it does not throw. */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe.each(ENGINES)('%s container inspect', (engine) => {
  const ids = IDS[engine];

  it('reads a created container: no start time (Go zero time), no ip', () => {
    const info = inspect(engine, 'created');
    expect(info).toMatchObject({
      id: ids.container,
      name: 'berth-fixture',
      state: 'created',
      image: ids.imageRef,
      imageId: ids.image,
      labels: LABELS,
      ip: null,
      createdAt: ids.created,
      startedAt: null,
      exitCode: 0,
    });
    expect(byTarget(info.mounts)).toEqual(byTarget(MOUNTS));
  });

  it('reads a running container: an IPv4 address, published ports, a start time', () => {
    const info = inspect(engine, 'running');
    expect(info).toEqual({
      id: ids.container,
      name: 'berth-fixture',
      state: 'running',
      image: ids.imageRef,
      imageId: ids.image,
      labels: LABELS,
      mounts: expect.any(Array) as unknown,
      ip: ids.ip,
      ports: PORTS,
      createdAt: ids.created,
      startedAt: ids.started,
      exitCode: 0,
      // The fixtures were created without limits: engines record 0, which means unlimited.
      cpus: null,
      memoryBytes: null,
    });
    expect(info.ip).toMatch(IPV4);
    expect(byTarget(info.mounts)).toEqual(byTarget(MOUNTS));
  });

  it('reads a stopped container: state stopped, exit code kept, no ip', () => {
    const info = inspect(engine, 'stopped');
    expect(info).toMatchObject({
      id: ids.container,
      name: 'berth-fixture',
      state: 'stopped',
      imageId: ids.image,
      labels: LABELS,
      ip: null,
      startedAt: ids.started,
      exitCode: ids.exitCode,
    });
    expect(byTarget(info.mounts)).toEqual(byTarget(MOUNTS));
  });

  it('strips the sha256: prefix and never leaves a leading slash on the name', () => {
    for (const state of ['created', 'running', 'stopped'] as const) {
      const info = inspect(engine, state);
      expect(info.imageId).toMatch(/^[0-9a-f]{64}$/);
      expect(info.name).toBe('berth-fixture');
    }
  });
});

describe('published ports outside the running state', () => {
  it('podman reports the configured bindings in every state', () => {
    expect(inspect('podman', 'created').ports).toEqual(PORTS);
    expect(inspect('podman', 'stopped').ports).toEqual(PORTS);
  });

  // docker fills NetworkSettings.Ports only while running; the bindings stay in HostConfig.PortBindings.
  it('docker reports the configured bindings for created and stopped containers too', () => {
    expect(inspect('docker', 'created').ports).toEqual(PORTS);
    expect(inspect('docker', 'stopped').ports).toEqual(PORTS);
  });
});

describe('image inspect', () => {
  it.each([
    ['docker', 'docker-image-inspect.json', IDS.docker.image, ['berth-workspace:test'], 297438160, '2026-11-23T15:02:55.874994076Z'],
    ['podman', 'podman-image-inspect.json', IDS.podman.image, ['localhost/berth-workspace:test'], 303893721, '2026-11-23T15:02:46.768858404Z'],
  ] as const)('%s: hex id, tags, labels from Config', (engine, file, id, tags, size, created) => {
    const [record, ...rest] = parseJsonOutput(imageRecords, recorded(file), [engine, 'image', 'inspect', 'berth-workspace:test']);
    expect(rest).toEqual([]);
    if (!record) throw new Error('no record');
    const image = normalizeImage(record);
    expect(image).toEqual({ id, tags, labels: { 'dev.berth.test-rootfs': 'a426e44c217f' }, createdAt: created, sizeBytes: size, user: '' });
    expect(image.id).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('network inspect', () => {
  it.each([
    // The bridge: docker names it br-<first 12 of the id>; podman reports it.
    ['docker', 'docker-network-inspect.json', 'e261380e6f17153f820c80753f0d9fec6a01d6a77b3534e2de7c53648fa1fde8', '172.18.0.0/16', '172.18.0.1', 'br-e261380e6f17'],
    ['podman', 'podman-network-inspect.json', '5bf10aef045dadc9d4214f570a08909f94a184805cd9fda795134dccec538aca', '10.89.0.0/24', '10.89.0.1', 'podman1'],
  ] as const)('%s: internal, subnet, gateway, labels, bridge', (engine, file, id, subnet, gateway, bridge) => {
    const [record, ...rest] = parseJsonOutput(networkRecords, recorded(file), [engine, 'network', 'inspect', 'berth-fixture-net']);
    expect(rest).toEqual([]);
    if (!record) throw new Error('no record');
    const network = normalizeNetwork(record);
    expect(network).toEqual({ name: 'berth-fixture-net', id, internal: true, subnet, gateway, labels: { 'dev.berth.managed': 'true' }, bridge });
    expect(network.subnet).toMatch(/^\d{1,3}(?:\.\d{1,3}){3}\/\d{1,2}$/);
  });
});

describe('version', () => {
  it('docker with its daemon up: client and server versions', () => {
    const record = parseJsonOutput(versionRecord, recorded('docker-version.json'), ['docker', 'version', '--format', '{{json .}}']);
    expect(record.Client.Version).toBe('28.2.2');
    expect(record.Server?.Version).toBe('20.10.24+dfsg1');
  });

  it('docker with its daemon down: Server is null', () => {
    const record = parseJsonOutput(versionRecord, recorded('docker-version-daemon-down.json'), ['docker', 'version', '--format', '{{json .}}']);
    expect(record.Client.Version).toBe('28.2.2');
    expect(record.Server).toBeNull();
  });

  it('podman: client only, no Server key', () => {
    const record = parseJsonOutput(versionRecord, recorded('podman-version.json'), ['podman', 'version', '--format', '{{json .}}']);
    expect(record.Client.Version).toBe('4.3.1');
    expect(record.Server).toBeUndefined();
  });
});

describe('normalizeState', () => {
  const table: [string, ContainerState][] = [
    ['created', 'created'],
    ['configured', 'created'],
    ['running', 'running'],
    ['restarting', 'running'],
    ['stopping', 'running'],
    ['paused', 'paused'],
    ['exited', 'stopped'],
    ['stopped', 'stopped'],
    ['dead', 'stopped'],
    ['Running', 'running'],
    ['EXITED', 'stopped'],
    ['removing', 'unknown'],
    ['', 'unknown'],
    ['bad state', 'unknown'],
  ];
  it.each(table)('%j → %s', (status, state) => {
    expect(normalizeState(status)).toBe(state);
  });
});

describe('parseJsonOutput', () => {
  const command = ['docker', 'container', 'inspect', 'berth-fixture'];

  it('tolerates fields it does not know, at every level', () => {
    const value = JSON.parse(recorded('docker-inspect-running.json')) as Record<string, unknown>[];
    const first = value[0] as { State: Record<string, unknown>; Config: Record<string, unknown> };
    Object.assign(value[0] ?? {}, { SomethingNew: { nested: [1, 2, 3] }, Platform: 42 });
    first.State['Checkpointed'] = true;
    first.Config['FutureThing'] = null;
    const [record] = parseJsonOutput(containerRecords, JSON.stringify(value), command);
    if (!record) throw new Error('no record');
    expect(normalizeContainer(record)).toEqual(inspect('docker', 'running'));
  });

  it('names the command and the field path when a field has the wrong type', () => {
    const value = JSON.parse(recorded('docker-inspect-running.json')) as { State: { Status: unknown } }[];
    const first = value[0];
    if (!first) throw new Error('no record');
    first.State.Status = 42;
    const error = thrown(() => parseJsonOutput(containerRecords, JSON.stringify(value), command));
    expect(error).toBeInstanceOf(BerthError);
    const berth = error as BerthError;
    expect(berth.code).toBe('E_RUNTIME_OUTPUT');
    expect(berth.message).toContain('`docker container inspect berth-fixture`');
    expect(berth.message).toContain('field [0].State.Status: ');
    expect(berth.details).toEqual({ command, field: '[0].State.Status' });
  });

  it('names a nested path inside a record map', () => {
    const value = JSON.parse(recorded('podman-inspect-running.json')) as { Config: { Labels: Record<string, unknown> } }[];
    const first = value[0];
    if (!first) throw new Error('no record');
    first.Config.Labels['dev.berth.managed'] = true;
    const error = thrown(() => parseJsonOutput(containerRecords, JSON.stringify(value), ['podman', 'container', 'inspect', 'x']));
    expect(error).toMatchObject({ code: 'E_RUNTIME_OUTPUT', details: { field: '[0].Config.Labels.dev.berth.managed' } });
    expect((error as Error).message).toContain('`podman container inspect x`');
  });

  it('reports a missing required field', () => {
    const error = thrown(() => parseJsonOutput(containerRecords, '[{"Id":"abc"}]', command));
    expect(error).toMatchObject({ code: 'E_RUNTIME_OUTPUT', details: { field: '[0].Name' } });
  });

  it('says "not JSON" for text that is not JSON, and quotes it', () => {
    const error = thrown(() => parseJsonOutput(containerRecords, 'Error: no such object: nope', command));
    expect(error).toBeInstanceOf(BerthError);
    expect(error).toMatchObject({ code: 'E_RUNTIME_OUTPUT', details: { command, field: '' } });
    expect((error as Error).message).toBe(
      'Could not read the output of `docker container inspect berth-fixture`: not JSON ("Error: no such object: nope")',
    );
  });

  it('shortens a long non-JSON preview to 120 characters', () => {
    const error = thrown(() => parseJsonOutput(containerRecords, 'x'.repeat(500), command));
    expect((error as Error).message).toContain(`not JSON ("${'x'.repeat(120)}…")`);
  });
});
