/**
 * The Apple `container` test double (tools/container-double/container.mjs) against the research
 * doc: the examples copied into test/fixtures/apple/ and the 15 facts of its §9, for the 1.2.2 and
 * the legacy 0.x shapes, on real podman and docker containers.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, type RunResult } from '../../src/process/index.js';
import { TEST_IMAGE, engineEnv } from '../support/engines.js';
import { waitFor } from '../support/wait-for.js';

type Engine = 'podman' | 'docker';

const DOUBLE = fileURLToPath(new URL('../../tools/container-double/container.mjs', import.meta.url));
const FIXTURES = fileURLToPath(new URL('../fixtures/apple/', import.meta.url));
const RUN = randomUUID().slice(0, 8);
const fixture = (name: string): string => readFileSync(join(FIXTURES, name), 'utf8');

/** The engines' environment without any CONTAINER_DOUBLE_* setting from outside. */
const BASE_ENV: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries(engineEnv()).filter(([key]) => !key.startsWith('CONTAINER_DOUBLE_')),
);

interface CallOptions {
  version?: string;
  input?: string;
  env?: NodeJS.ProcessEnv;
}

type Cli = (args: string[], options?: CallOptions) => Promise<RunResult>;

function doubleFor(engine: Engine, state: string): Cli {
  return (args, options = {}) =>
    run([process.execPath, DOUBLE, ...args], {
      env: {
        ...BASE_ENV,
        CONTAINER_DOUBLE_ENGINE: engine,
        CONTAINER_DOUBLE_STATE: state,
        CONTAINER_DOUBLE_VERSION: options.version ?? '1.2.2',
        ...options.env,
      },
      input: options.input,
      okExitCodes: 'any',
      timeoutMs: 90_000,
    });
}

// --- the shapes the tests read (§3.3, §3.4, §3.6)

interface Attachment {
  network: string;
  hostname: string;
  ipv4Address: string;
  ipv4Gateway: string;
  macAddress?: string;
  mtu?: number;
  variant?: string;
}
interface LegacyAttachment {
  network: string;
  hostname: string;
  address: string;
  gateway: string;
}
interface Mount {
  type: Record<string, unknown>;
  source: string;
  destination: string;
  options: string[];
}
interface PublishPort {
  hostAddress: string;
  hostPort: number;
  containerPort: number;
  proto: string;
  count: number;
}
interface Configuration {
  id: string;
  labels: Record<string, string>;
  mounts: Mount[];
  publishedPorts: PublishPort[];
  networks: { network: string; options: { hostname: string; mtu?: number; macAddress?: string } }[];
  resources: { cpus: number; memoryInBytes: number; cpuOverhead?: number };
  dns?: { nameservers: string[]; domain?: string; searchDomains: string[]; options: string[] };
  image: { reference: string; descriptor: { digest: string; mediaType: string; size: number } };
  initProcess: { executable: string; arguments: string[]; environment: string[]; workingDirectory: string; user: Record<string, unknown> };
  platform: { os: string; architecture: string };
  stopSignal?: string;
  creationDate?: string;
  useInit?: boolean;
}
interface ManagedContainer {
  id: string;
  configuration: Configuration;
  status: { state: string; networks: Attachment[]; startedDate?: string };
}
interface LegacyContainer {
  status: string;
  configuration: Configuration;
  networks: (Attachment | LegacyAttachment)[];
  startedDate?: number;
}
interface NetworkResource {
  id: string;
  configuration: { name: string; mode: string; labels: Record<string, string>; creationDate: string };
  status: { ipv4Subnet: string; ipv4Gateway: string };
}
interface ImageResource {
  id: string;
  configuration: { name: string; descriptor: { digest: string } };
  variants: unknown[];
}

const parse = <T>(text: string): T => JSON.parse(text) as T;
const ISO_NO_FRACTION = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;
const APPLE_MAC = /^f[26ae]:[0-9a-f]{2}(:[0-9a-f]{2}){4}$/;
const CIDR = /^(\d{1,3}\.){3}\d{1,3}\/\d{1,2}$/;

/** Every key path of a JSON value, arrays collapsed to `[]`. */
function keyPaths(value: unknown, prefix = ''): Set<string> {
  const paths = new Set<string>();
  if (Array.isArray(value)) {
    for (const item of value) for (const p of keyPaths(item, `${prefix}[]`)) paths.add(p);
  } else if (value !== null && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value)) {
      const path = `${prefix}.${key}`;
      paths.add(path);
      for (const p of keyPaths(inner, path)) paths.add(p);
    }
  }
  return paths;
}

/** An independent Swift JSONEncoder (§3.1): sorted keys, `\/`, compact or `"key" : value` pretty. */
function swiftJson(value: unknown, pretty: boolean, indent = ''): string {
  const str = (s: string): string => JSON.stringify(s).replace(/\//g, '\\/');
  if (typeof value === 'string') return str(value);
  if (typeof value !== 'object' || value === null) return JSON.stringify(value);
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.length === 0) return pretty ? `[\n\n${indent}]` : '[]';
    const items = value.map((v) => swiftJson(v, pretty, inner));
    return pretty ? `[\n${items.map((i) => inner + i).join(',\n')}\n${indent}]` : `[${items.join(',')}]`;
  }
  const keys = Object.keys(value).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  if (keys.length === 0) return pretty ? `{\n\n${indent}}` : '{}';
  const record = value as Record<string, unknown>;
  const entries = keys.map((k) => `${str(k)}${pretty ? ' : ' : ':'}${swiftJson(record[k], pretty, inner)}`);
  return pretty ? `{\n${entries.map((e) => inner + e).join(',\n')}\n${indent}}` : `{${entries.join(',')}}`;
}

/** §3.2: every column but the last padded to its widest cell plus 2. */
function expectTableLayout(text: string): string[][] {
  expect(text.endsWith('\n')).toBe(true);
  const lines = text.slice(0, -1).split('\n');
  const header = lines[0] ?? '';
  const starts = [...header.matchAll(/\S+(?: \S+)*/g)].map((m) => m.index);
  const rows = lines.map((line) => starts.map((start, i) => line.slice(start, starts[i + 1] ?? line.length).trimEnd()));
  for (let c = 0; c < starts.length - 1; c++) {
    const width = (starts[c + 1] ?? 0) - (starts[c] ?? 0);
    expect(width, `column ${c} width`).toBe(Math.max(...rows.map((r) => (r[c] ?? '').length)) + 2);
  }
  return rows;
}

function ipv4InSubnet(ip: string, cidr: string): boolean {
  const toInt = (s: string): number => s.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  const [base = '', bits = '32'] = cidr.split('/');
  const size = 2 ** (32 - Number(bits));
  return Math.floor(toInt(ip) / size) === Math.floor(toInt(base) / size);
}

function stateHash(state: string): string {
  return createHash('sha256').update(resolve(state)).digest('hex').slice(0, 8);
}

const STUBBORN = ['sleep', 'infinity']; // PID 1 without a TERM handler: only KILL ends it
const QUICK = ['sh', '-c', 'trap "exit 0" TERM; while :; do sleep 0.2; done'];

/** Removes whatever a suite left in the double (containers, networks, volumes). */
async function cleanUp(cli: Cli): Promise<void> {
  await cli(['system', 'start', '--enable-kernel-install']);
  const ids = (await cli(['list', '--all', '--quiet'])).stdout.split('\n').filter(Boolean);
  if (ids.length) await cli(['delete', '--force', ...ids]);
  const networks = (await cli(['network', 'list', '--quiet'])).stdout.split('\n').filter((n) => n && n !== 'default');
  if (networks.length) await cli(['network', 'delete', ...networks]);
  const volumes = (await cli(['volume', 'list', '--quiet'])).stdout.split('\n').filter(Boolean);
  if (volumes.length) await cli(['volume', 'delete', ...volumes]);
  await cli(['system', 'stop']);
}

// ---------------------------------------------------------------------------------------------

describe('container double: system lifecycle (fact 8)', () => {
  const state = mkdtempSync(join(tmpdir(), 'acd-test-system-'));
  const c = doubleFor('podman', state);
  const name = (s: string): string => `acdt-${RUN}-sys-${s}`;

  afterAll(async () => {
    await cleanUp(c);
    rmSync(state, { recursive: true, force: true });
  });

  it('is an executable with a node shebang', async () => {
    const result = await run([DOUBLE, '--version'], { env: BASE_ENV, okExitCodes: 'any' });
    expect(result.exitCode).toBe(0);
    expect(readFileSync(DOUBLE, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
  });

  it('reports an unregistered apiserver before system start, exactly as §3.8 shows', async () => {
    const table = await c(['system', 'status']);
    expect(table.exitCode).toBe(1);
    expect(table.stdout).toBe(fixture('system-status-unregistered.txt'));
    const json = await c(['system', 'status', '--format', 'json']);
    expect(json.exitCode).toBe(1);
    expect(json.stdout).toBe(fixture('system-status-unregistered.json'));
  });

  it('fails every container command with the XPC texts of §4.2 while stopped', async () => {
    const list = await c(['list']);
    expect(list.exitCode).toBe(1);
    expect(list.stdout).toBe('');
    expect(list.stderr).toBe(fixture('xpc-list.stderr'));
    for (const args of [
      ['run', '-d', TEST_IMAGE, 'true'],
      ['create', TEST_IMAGE, 'true'],
      ['image', 'list'],
      ['inspect', 'x'],
      ['exec', 'x', 'true'],
      ['network', 'list'],
    ]) {
      const result = await c(args);
      expect(result.exitCode, args.join(' ')).toBe(1);
      expect(result.stderr, args.join(' ')).toBe(fixture('xpc-run.stderr'));
    }
  });

  it('still answers --version and system version while stopped', async () => {
    const version = await c(['--version']);
    expect(version.exitCode).toBe(0);
    const table = await c(['system', 'version']);
    expect(table.exitCode).toBe(0);
    expect(table.stdout.split('\n').filter(Boolean)).toHaveLength(2); // header + the CLI row only
  });

  it('prompts for the kernel on stdout and fails with closed stdin (§2.7)', async () => {
    const result = await c(['system', 'start']);
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toMatch(/^Install the recommended default kernel from \[\S+\]\? \[Y\/n\]: $/);
    expect(result.stderr).toMatch(/Error: failed to read user input\n$/);
  });

  it('starts with --enable-kernel-install and --timeout, logging to stderr only (1.x)', async () => {
    const result = await c(['system', 'start', '--enable-kernel-install', '--timeout', '60']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('Testing access to container-apiserver...');
    const again = await c(['system', 'start', '--disable-kernel-install']);
    expect(again.exitCode).toBe(0);
  });

  it('prints the FIELD/VALUE status table of §3.8 and its JSON when running', async () => {
    const table = await c(['system', 'status']);
    expect(table.exitCode).toBe(0);
    const expected = fixture('system-status-running-1.2.2.txt').split('\n');
    const actual = table.stdout.split('\n');
    expect(actual).toHaveLength(expected.length);
    expect(actual[0]).toBe(expected[0]);
    const fieldsOf = (lines: string[]): string[] => lines.map((l) => l.slice(0, 19).trimEnd());
    expect(fieldsOf(actual)).toEqual(fieldsOf(expected));
    for (const fixed of ['status             running', 'logRoot            ', 'apiserver.build    release', 'apiserver.appName  container-apiserver']) {
      expect(actual).toContain(fixed);
    }
    expect(actual).toContain(`appRoot            ${resolve(state)}/`);
    expect(table.stdout).toMatch(/^apiserver\.version {2}container-apiserver version 1\.2\.2 \(build: release, commit: [0-9a-f]{7}\)$/m);
    expect(table.stdout).toMatch(/^apiserver\.commit {3}[0-9a-f]{40}$/m);

    const json = await c(['system', 'status', '--format', 'json']);
    expect(json.exitCode).toBe(0);
    const value = parse<Record<string, string>>(json.stdout);
    expect(Object.keys(value).sort()).toEqual(Object.keys(parse<Record<string, string>>(fixture('system-status-running-1.2.2.json'))).sort());
    expect(value['status']).toBe('running');
    expect(json.stdout).toBe(`${swiftJson(value, false)}\n`);
    expect(json.stdout).toContain('\\/');
  });

  it('prints system version as in §3.8 (table and JSON)', async () => {
    const table = await c(['system', 'version']);
    // The doc's example pads one row differently from the others; compare cells, and the §3.2 rule.
    const cells = (text: string): string[][] => text.trimEnd().split('\n').map((l) => l.split(/ {2,}/));
    const expected = cells(fixture('system-version-1.2.2.txt'));
    const actual = cells(table.stdout);
    expect(actual).toHaveLength(expected.length);
    actual.forEach((row, r) => {
      expect(row).toHaveLength(expected[r]?.length ?? 0);
      row.forEach((cell, i) => {
        const want = (expected[r]?.[i] ?? '').replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/<full sha>/g, '[0-9a-f]{40}').replace(/1a2b3c4/g, '[0-9a-f]{7}');
        expect(cell).toMatch(new RegExp(`^${want}$`));
      });
    });
    expectTableLayout(table.stdout);
    const json = parse<Record<string, string>[]>((await c(['system', 'version', '--format', 'json'])).stdout);
    expect(json.map((r) => r['appName'])).toEqual(['container', 'container-apiserver']);
    expect(Object.keys(json[0] ?? {}).sort()).toEqual(['appName', 'buildType', 'commit', 'version']);
    expect(json[0]?.['version']).toBe('1.2.2');
  });

  it('system stop stops everything, prints swift-log lines and IDs; start forgets start dates and reaps --rm', async () => {
    expect((await c(['run', '-d', '--name', name('a'), TEST_IMAGE, ...QUICK])).exitCode).toBe(0);
    expect((await c(['run', '-d', '--rm', '--name', name('rm'), TEST_IMAGE, ...QUICK])).exitCode).toBe(0);
    const stop = await c(['system', 'stop']);
    expect(stop.exitCode).toBe(0);
    const lines = stop.stdout.split('\n').filter(Boolean);
    expect(lines).toContain(name('a'));
    expect(lines).toContain(name('rm'));
    const logLine = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0000 info com\.apple\.container\.cli :( \S+=\S+)* \[ContainerCommands\] /;
    expect(lines.filter((l) => logLine.test(l)).length).toBeGreaterThanOrEqual(3);
    expect(stop.stdout).toContain('checking if APIServer is alive');

    const status = await c(['system', 'status']);
    expect(status.exitCode).toBe(1);
    expect(status.stdout).toBe(fixture('system-status-unregistered.txt'));
    expect((await c(['inspect', name('a')])).stderr).toBe(fixture('xpc-run.stderr'));

    expect((await c(['system', 'start', '--enable-kernel-install'])).exitCode).toBe(0);
    const all = parse<ManagedContainer[]>((await c(['list', '--all', '--format', 'json'])).stdout);
    expect(all.map((x) => x.id)).toEqual([name('a')]);
    expect(all[0]?.status.state).toBe('stopped');
    expect(all[0]?.status.networks).toEqual([]);
    expect(all[0]?.status.startedDate).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------------

function factsSuite(engine: Engine): void {
  describe(`container double on ${engine}: the 15 facts (1.2.2)`, () => {
    const state = mkdtempSync(join(tmpdir(), `acd-test-${engine}-`));
    const host = mkdtempSync(join(tmpdir(), 'acd-test-host-'));
    mkdirSync(join(host, 'proj'));
    mkdirSync(join(host, 'data'));
    writeFileSync(join(host, 'proj', 'hello.txt'), 'from the host\n');
    const c = doubleFor(engine, state);
    const name = (s: string): string => `acdt-${RUN}-${engine.slice(0, 1)}-${s}`;
    const image = `acdt-${RUN}-${engine}-img`;
    const checksImage = `${image}-checks`;
    const hostPort = 20_000 + Math.floor(Math.random() * 20_000);

    const inspect = async (id: string): Promise<ManagedContainer> => {
      const result = await c(['inspect', id]);
      expect(result.exitCode, result.stderr).toBe(0);
      const [value] = parse<ManagedContainer[]>(result.stdout);
      if (!value) throw new Error(`no inspect output for ${id}`);
      return value;
    };
    const runDetached = async (id: string, args: string[], command: string[] = QUICK): Promise<void> => {
      const result = await c(['run', '-d', '--progress', 'none', '--name', id, ...args, TEST_IMAGE, ...command]);
      expect(result.exitCode, result.stderr).toBe(0);
      expect(result.stdout).toBe(`${id}\n`);
    };

    beforeAll(async () => {
      const start = await c(['system', 'start', '--enable-kernel-install']);
      expect(start.exitCode, start.stderr).toBe(0);
    });

    afterAll(async () => {
      await cleanUp(c);
      await run([engine, 'rmi', '-f', image, checksImage], { env: BASE_ENV, okExitCodes: 'any' });
      rmSync(state, { recursive: true, force: true });
      rmSync(host, { recursive: true, force: true });
    });

    it('fact 9: empty results print nothing with -q and only the header as a table', async () => {
      const quiet = await c(['list', '-q']);
      expect(quiet.exitCode).toBe(0);
      expect(quiet.stdout).toBe('');
      const table = await c(['list']);
      expect(table.stdout).toBe('ID  IMAGE  OS  ARCH  STATE  IP  CPUS  MEMORY  STARTED\n');
      const json = await c(['list', '--format', 'json']);
      expect(json.stdout).toBe('[]\n');
    });

    it('builds through the engine (build), stdout ending with the names as each release prints them', async () => {
      const context = join(host, 'build');
      mkdirSync(context);
      writeFileSync(join(context, 'Dockerfile'), `FROM ${TEST_IMAGE}\nSTOPSIGNAL SIGQUIT\nCMD ["sleep", "infinity"]\n`);
      // BuildCommand.swift: print(finalMessage), the normalised names one a line @1.0.0 line 391, "Successfully built a, b" @0.9.0 line 354.
      const result = await c(['build', '-t', image, context]);
      expect(result.exitCode, result.stderr).toBe(0);
      expect(result.stdout).toBe(`docker.io/library/${image}:latest\n`);
      const old = await c(['build', '--progress', 'plain', '-t', image, context], { version: '0.9.0' });
      expect(old.exitCode, old.stderr).toBe(0);
      expect(old.stdout).toBe(`Successfully built docker.io/library/${image}:latest\n`);
    });

    it('build: the options and checks of each release', async () => {
      // Its own tag: a build that succeeds here (the big Dockerfile, without CMD) must not replace the
      // image the later facts run.
      const context = join(host, 'build-checks');
      mkdirSync(context);
      writeFileSync(join(context, 'Dockerfile'), `FROM ${TEST_IMAGE}\n`);
      // --pull @0.10.0, --secret @0.11.0, --ssh @1.2.1: unknown options before.
      expect(await c(['build', '--pull', '-t', checksImage, context], { version: '0.9.0' })).toMatchObject({ exitCode: 64, stderr: expect.stringContaining("Unknown option '--pull'") as string });
      expect(await c(['build', '--secret', 'id=a', '-t', checksImage, context], { version: '0.10.0' })).toMatchObject({ exitCode: 64 });
      expect(await c(['build', '--ssh', 'default', '-t', checksImage, context], { version: '1.2.0' })).toMatchObject({ exitCode: 64 });
      // A missing --file: a usage error from validate() @0.11.0 on; before, the build itself fails.
      const missing = join(context, 'Nope');
      expect(await c(['build', '-f', missing, '-t', checksImage, context])).toMatchObject({ exitCode: 64, stderr: expect.stringContaining(`Error: dockerfile does not exist ${missing}`) as string });
      expect(await c(['build', '-f', missing, '-t', checksImage, context], { version: '0.10.0' })).toMatchObject({ exitCode: 1 });
      expect(await c(['build', '-t', checksImage, join(host, 'no-such-context')])).toMatchObject({ exitCode: 64, stderr: expect.stringContaining('context dir does not exist') as string });
      // 16 KiB or more: refused @1.0.0 on (#735), built before.
      writeFileSync(join(context, 'Big'), `FROM ${TEST_IMAGE}\n${'#'.repeat(16 * 1024)}\n`);
      expect(await c(['build', '-f', join(context, 'Big'), '-t', checksImage, context])).toMatchObject({ exitCode: 1, stderr: expect.stringContaining('exceeds the maximum allowed size of 16384 bytes') as string });
      expect(await c(['build', '-f', join(context, 'Big'), '-t', checksImage, context], { version: '0.12.3' })).toMatchObject({ exitCode: 0 });
    });

    it('fact 1, 12, 13: list --format json matches the §3.3 example shape byte rules and fields', async () => {
      const id = name('web');
      const run1 = await c(
        ['run', '-d', '--name', id, '-l', 'berth.workspace=ws1', '-v', `${join(host, 'proj')}:/workspace`, '-v', `${join(host, 'data')}:/data:ro`, '-p', `127.0.0.1:${hostPort}:80`, image],
        { env: { CONTAINER_DOUBLE_DNS_DOMAIN: 'test' } },
      );
      expect(run1.exitCode, run1.stderr).toBe(0);
      const result = await c(['list', '--all', '--format', 'json']);
      expect(result.exitCode).toBe(0);
      // one line, compact, sorted keys, `\/` escaped (§3.1)
      expect(result.stdout.split('\n')).toHaveLength(2);
      const list = parse<ManagedContainer[]>(result.stdout);
      expect(result.stdout).toBe(`${swiftJson(list, false)}\n`);
      expect(result.stdout).toContain('docker.io\\/library\\/');
      const web = list.find((x) => x.id === id);
      if (!web) throw new Error('web not listed');

      const example = parse<ManagedContainer[]>(fixture('list-all-1.2.2.json'))[0];
      if (!example) throw new Error('bad fixture');
      const expectedPaths = [...keyPaths(example)].filter((p) => !p.includes('ipv6Address')).sort();
      expect([...keyPaths(web)].sort()).toEqual(expectedPaths);

      const cfg = web.configuration;
      expect(web.id).toBe(id);
      expect(cfg.id).toBe(id);
      expect(cfg.labels).toEqual(example.configuration.labels);
      expect(cfg.mounts).toEqual(
        example.configuration.mounts.map((m) => ({ ...m, source: join(host, m.destination === '/workspace' ? 'proj' : 'data') })),
      );
      expect(cfg.publishedPorts).toEqual(example.configuration.publishedPorts.map((p) => ({ ...p, hostPort })));
      expect(cfg.resources).toEqual(example.configuration.resources);
      expect(cfg.networks).toEqual(example.configuration.networks.map((n) => ({ ...n, options: { ...n.options, hostname: `${id}.test.` } })));
      expect(cfg.dns).toEqual(example.configuration.dns);
      expect(cfg.stopSignal).toBe('SIGQUIT');
      expect(cfg.image.reference).toBe(`docker.io/library/${image}:latest`);
      expect(cfg.initProcess.executable).toBe('sleep');
      expect(cfg.initProcess.arguments).toEqual(['infinity']);
      expect(cfg.initProcess.user).toEqual({ id: { gid: 0, uid: 0 } });
      expect(cfg.creationDate).toMatch(ISO_NO_FRACTION);

      expect(web.status.state).toBe('running');
      expect(web.status.startedDate).toMatch(ISO_NO_FRACTION);
      const [attachment] = web.status.networks;
      expect(attachment?.hostname).toBe(`${id}.test.`);
      expect(attachment?.network).toBe('default');
      expect(attachment?.mtu).toBe(1280);
      expect(attachment?.variant).toBe('reserved');
      expect(attachment?.macAddress).toMatch(APPLE_MAC);
      expect(attachment?.ipv4Address).toMatch(CIDR);
    });

    it('fact 1: inspect is the same array pretty-printed with "key" : value', async () => {
      const result = await c(['inspect', name('web')]);
      expect(result.exitCode).toBe(0);
      const value = parse<ManagedContainer[]>(result.stdout);
      expect(result.stdout).toBe(`${swiftJson(value, true)}\n`);
      expect(result.stdout).toContain('"capAdd" : [\n\n      ]');
      expect(result.stdout).toContain('"sysctls" : {\n\n      }');
    });

    it('fact 3: the attachment is the real engine address, reachable from the host', async () => {
      const id = name('http');
      await runDetached(id, [], ['python3', '-m', 'http.server', '8000', '--bind', '0.0.0.0']);
      const web = await inspect(id);
      const [attachment] = web.status.networks;
      if (!attachment) throw new Error('no attachment');
      expect(attachment.ipv4Address).toMatch(CIDR);
      const ip = attachment.ipv4Address.split('/')[0] ?? '';
      expect(ipv4InSubnet(attachment.ipv4Gateway, attachment.ipv4Address)).toBe(true);
      expect(ip.endsWith('.0') || ip.endsWith('.1')).toBe(false);
      const network = parse<NetworkResource[]>((await c(['network', 'inspect', 'default'])).stdout)[0];
      expect(network?.status.ipv4Gateway).toBe(attachment.ipv4Gateway);
      expect(ipv4InSubnet(ip, network?.status.ipv4Subnet ?? '')).toBe(true);
      const body = await waitFor(async () => {
        try {
          const response = await fetch(`http://${ip}:8000/`, { signal: AbortSignal.timeout(2000) });
          return response.ok ? await response.text() : undefined;
        } catch {
          return undefined;
        }
      }, { timeout: 15_000, interval: 200, message: 'the web server in the container to answer' });
      expect(body).toContain('Directory listing');
      // the table's IP column keeps the prefix (§3.3)
      const rows = expectTableLayout((await c(['list'])).stdout);
      expect(rows[0]).toEqual(['ID', 'IMAGE', 'OS', 'ARCH', 'STATE', 'IP', 'CPUS', 'MEMORY', 'STARTED']);
      const row = rows.find((r) => r[0] === id);
      expect(row?.[5]).toBe(attachment.ipv4Address);
      expect(row?.[7]).toBe('1024 MB');
      expect(row?.[8]).toMatch(ISO_NO_FRACTION);
    });

    it('fact 2: list shows running containers only; --all adds stopped; a --rm container vanishes', async () => {
      const stopped = name('created');
      const created = await c(['create', '--name', stopped, TEST_IMAGE, ...QUICK]);
      expect(created.exitCode, created.stderr).toBe(0);
      expect(created.stdout).toBe(`${stopped}\n`);
      const running = (await c(['list', '-q'])).stdout.split('\n');
      expect(running).not.toContain(stopped);
      expect(running).toContain(name('web'));
      const all = parse<ManagedContainer[]>((await c(['list', '--all', '--format', 'json'])).stdout);
      const entry = all.find((x) => x.id === stopped);
      expect(entry?.status).toEqual({ networks: [], state: 'stopped' });

      const gone = name('rm');
      await runDetached(gone, ['--rm']);
      expect((await c(['list', '-q'])).stdout.split('\n')).toContain(gone);
      const stop = await c(['stop', gone]);
      expect(stop.stdout).toBe(`${gone}\n`);
      expect((await c(['list', '--all', '-q'])).stdout.split('\n')).not.toContain(gone);
      expect((await c(['inspect', gone])).stderr).toBe(`Error: container not found: ${gone}\n`);
    });

    it('fact 4: the ID is the name, a lowercase UUID without one, and names are validated', async () => {
      const result = await c(['create', TEST_IMAGE, ...QUICK]);
      expect(result.exitCode).toBe(0);
      const id = result.stdout.trim();
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      const value = await inspect(id);
      expect(value.configuration.id).toBe(id);
      expect((await c(['delete', id])).stdout).toBe(`${id}\n`);
      for (const bad of ['a', '-x', '.dot', 'has space', `x${'y'.repeat(63)}`]) {
        const r = await c(['run', '-d', `--name=${bad}`, TEST_IMAGE, 'true']);
        expect(r.exitCode, bad).toBe(1);
        expect(r.stderr, bad).toBe(`Error: container ID ${bad} is not a valid container ID\n`);
      }
    });

    it('fact 5: duplicate names differ between run and create, and create nothing', async () => {
      const id = name('web');
      const before = (await c(['list', '--all', '-q'])).stdout;
      const r = await c(['run', '-d', '--name', id, TEST_IMAGE, 'true']);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toBe(`Error: container with id ${id} already exists\n`);
      const cr = await c(['create', '--name', id, TEST_IMAGE, 'true']);
      expect(cr.exitCode).toBe(1);
      expect(cr.stderr).toBe(`Error: container already exists: ${id}\n`);
      expect((await c(['list', '--all', '-q'])).stdout).toBe(before);
    });

    it('fact 6: not-found texts for inspect, start/exec/logs and the stop/kill/delete aggregates', async () => {
      const inspectMissing = await c(['inspect', 'zz-missing', 'aa-missing']);
      expect(inspectMissing.exitCode).toBe(1);
      expect(inspectMissing.stdout).toBe('');
      expect(inspectMissing.stderr).toBe('Error: container not found: aa-missing, zz-missing\n');
      for (const args of [['start', 'x'], ['exec', 'x', 'true']]) {
        const r = await c(args);
        expect(r.exitCode).toBe(1);
        expect(r.stderr).toBe('Error: get failed: container x not found\n');
      }
      const logs = await c(['logs', 'x']);
      expect(logs.exitCode).toBe(1);
      expect(logs.stderr).toContain('get failed: container x not found');
      expect(logs.stderr).toMatch(/^Error: failed to get logs for container x \(cause: /);
      const stop = await c(['stop', 'x']);
      expect(stop.exitCode).toBe(1);
      expect(stop.stderr).toBe(fixture('stop-not-found.stderr'));
      for (const verb of ['stop', 'kill', 'delete']) {
        const r = await c([verb, 'x', 'y']);
        expect(r.exitCode).toBe(1);
        const lines = r.stderr.trimEnd().split('\n').sort();
        expect(lines).toHaveLength(2);
        expect(lines.filter((l) => l.startsWith('Error: '))).toHaveLength(1);
        for (const id of ['x', 'y']) {
          expect(r.stderr).toContain(`internalError: "failed to ${verb} container" (cause: "notFound: "container with ID ${id} not found"")`);
        }
      }
    });

    it('fact 7: exec passes exit codes, -e/-w/-u, -d prints the ID; exec and cp need a running container', async () => {
      const id = name('web');
      const exec = await c(['exec', '-e', 'GREETING=hi', '-w', '/tmp', '-u', '1000:1000', id, 'sh', '-c', 'echo "$GREETING $(pwd) $(id -u)"; echo oops >&2; exit 3']);
      expect(exec.exitCode).toBe(3);
      expect(exec.stdout).toBe('hi /tmp 1000\n');
      expect(exec.stderr).toBe('oops\n');
      const detached = await c(['exec', '-d', id, 'sleep', '1']);
      expect(detached.exitCode).toBe(0);
      expect(detached.stdout).toBe(`${id}\n`);
      const stdin = await c(['exec', '-i', id, 'cat'], { input: 'piped\n' });
      expect(stdin.stdout).toBe('piped\n');

      const stopped = name('created');
      const e = await c(['exec', stopped, 'true']);
      expect(e.exitCode).toBe(1);
      expect(e.stderr).toBe(`Error: container ${stopped} is not running\n`);
      const cp = await c(['cp', join(host, 'proj', 'hello.txt'), `${stopped}:/tmp/`]);
      expect(cp.exitCode).toBe(1);
      expect(cp.stderr).toBe(`Error: container ${stopped} is not running\n`);
    });

    it('cp (1.0+) copies both ways and prints the resolved destination', async () => {
      const id = name('web');
      const into = await c(['cp', join(host, 'proj', 'hello.txt'), `${id}:/tmp/in/`]);
      expect(into.exitCode, into.stderr).toBe(0);
      expect(into.stdout).toBe(`${id}:/tmp/in/hello.txt\n`);
      expect((await c(['exec', id, 'cat', '/tmp/in/hello.txt'])).stdout).toBe('from the host\n');
      const outDir = join(host, 'out');
      mkdirSync(outDir);
      const back = await c(['cp', `${id}:/tmp/in/hello.txt`, outDir]);
      expect(back.exitCode, back.stderr).toBe(0);
      expect(back.stdout).toBe(`${join(outDir, 'hello.txt')}\n`);
      expect(readFileSync(join(outDir, 'hello.txt'), 'utf8')).toBe('from the host\n');
      const both = await c(['cp', `${id}:/a`, `${id}:/b`]);
      expect(both.stderr).toBe('Error: copying between containers is not supported\n');
    });

    it('logs prints stdout and stderr, -n keeps the last N non-empty lines', async () => {
      const id = name('logs');
      const result = await c(['run', '--name', id, TEST_IMAGE, 'sh', '-c', 'echo one; echo; echo two; echo three; exit 4']);
      expect(result.exitCode).toBe(4);
      expect(result.stdout).toBe('one\n\ntwo\nthree\n');
      expect((await c(['logs', id])).stdout).toBe('one\n\ntwo\nthree\n');
      expect((await c(['logs', '-n', '2', id])).stdout).toBe('two\nthree\n');
      expect((await c(['logs', '-n', '3', id])).stdout).toBe('one\ntwo\nthree\n');
    });

    it('fact 9 and 10: start/stop/kill/delete stdout, idempotent stop, -t grace, -s signal, kill default KILL', async () => {
      const stubborn = name('stubborn');
      await runDetached(stubborn, [], STUBBORN);
      let t = Date.now();
      const stop = await c(['stop', '-t', '1', stubborn]);
      const took = Date.now() - t;
      expect(stop.exitCode).toBe(0);
      expect(stop.stdout).toBe(`${stubborn}\n`);
      expect(took).toBeGreaterThanOrEqual(900);
      expect(took).toBeLessThan(5000);
      expect((await inspect(stubborn)).status.state).toBe('stopped');
      expect((await inspect(stubborn)).status.startedDate).toMatch(ISO_NO_FRACTION); // kept after stop
      const again = await c(['stop', stubborn]);
      expect(again.exitCode).toBe(0);
      expect(again.stdout).toBe(`${stubborn}\n`);

      const start = await c(['start', stubborn]);
      expect(start.stdout).toBe(`${stubborn}\n`);
      expect((await c(['start', stubborn])).stdout).toBe(`${stubborn}\n`); // already running
      expect((await c(['start', '-a', stubborn])).stderr).toBe('Error: attach is currently unsupported on already running containers\n');
      t = Date.now();
      const kill = await c(['kill', stubborn]);
      expect(kill.stdout).toBe(`${stubborn}\n`);
      expect(Date.now() - t).toBeLessThan(5000);
      expect((await inspect(stubborn)).status.state).toBe('stopped');
      const killStopped = await c(['kill', stubborn]);
      expect(killStopped.exitCode).toBe(1);
      expect(killStopped.stderr).toBe(`Error: ${fixture('kill-stopped.txt')}`);

      const signalled = name('signal');
      await runDetached(signalled, [], ['sh', '-c', 'trap "echo got-usr1; exit 0" USR1; while :; do sleep 0.2; done']);
      const stopSignal = await c(['stop', '-s', 'SIGUSR1', '-t', '10', signalled]);
      expect(stopSignal.exitCode).toBe(0);
      expect((await c(['logs', signalled])).stdout).toBe('got-usr1\n');

      const busy = name('busy');
      await runDetached(busy, []);
      const del = await c(['delete', busy]);
      expect(del.exitCode).toBe(1);
      expect(del.stderr).toBe(`Error: ${fixture('delete-running.txt').replaceAll('container web', `container ${busy}`)}`);
      const force = await c(['rm', '-f', busy, busy]);
      expect(force.exitCode).toBe(0);
      expect(force.stdout).toBe(`${busy}\n`);

      const multi = await c(['delete', stubborn, signalled]);
      expect(multi.stdout.split('\n').filter(Boolean).sort()).toEqual([signalled, stubborn].sort());
      expect((await c(['stop'])).stderr).toBe('Error: no containers specified and --all not supplied\n');
    });

    it('fact 10: the default stop grace period is 5 s', async () => {
      const id = name('grace');
      await runDetached(id, [], STUBBORN);
      const t = Date.now();
      expect((await c(['stop', id])).exitCode).toBe(0);
      expect(Date.now() - t).toBeGreaterThanOrEqual(4500);
      await c(['delete', id]);
    });

    it('fact 11: resource defaults, binary memory units, the 200 MiB minimum and integer cpus', async () => {
      const id = name('sized');
      const created = await c(['create', '--name', id, '-c', '2', '-m', '512m', TEST_IMAGE, 'true']);
      expect(created.exitCode, created.stderr).toBe(0);
      expect((await inspect(id)).configuration.resources).toEqual({ cpuOverhead: 1, cpus: 2, memoryInBytes: 536870912 });
      expect((await inspect(name('created'))).configuration.resources).toEqual({ cpuOverhead: 1, cpus: 4, memoryInBytes: 1073741824 });
      const gib = name('gib');
      expect((await c(['create', '--name', gib, '--memory', '1.5GiB', TEST_IMAGE, 'true'])).exitCode).toBe(0);
      expect((await inspect(gib)).configuration.resources.memoryInBytes).toBe(1536 * 1024 * 1024);
      const small = await c(['run', '-d', '-m', '100m', TEST_IMAGE, 'true']);
      expect(small.exitCode).toBe(1);
      expect(small.stderr).toBe('Error: minimum memory amount allowed is 200 MiB (got 104857600 bytes)\n');
      const bytes = await c(['run', '-d', '-m', '209715200', TEST_IMAGE, 'true']); // a bare number is bytes: exactly 200 MiB
      expect(bytes.exitCode, bytes.stderr).toBe(0);
      await c(['delete', '-f', bytes.stdout.trim()]);
      const cpus = await c(['run', '-d', '--cpus', '1.5', TEST_IMAGE, 'true']);
      expect(cpus.exitCode).toBe(64);
      expect(cpus.stderr).toMatch(/^Error: The value '1\.5' is invalid for '--cpus <cpus>'\n/);
    });

    it('fact 12: virtiofs binds, tmpfs, named and anonymous volumes; missing bind sources fail', async () => {
      const id = name('mounts');
      const file = join(host, 'proj', 'hello.txt');
      const result = await c([
        'run', '-d', '--name', id,
        '-v', `${join(host, 'data')}:/data:ro`, '-v', `${file}:/etc/hello.txt`, '--mount', `type=bind,source=${join(host, 'proj')},target=/proj`,
        '--tmpfs', '/scratch', '-v', `acdt-${RUN}-vol:/vol`, '-v', '/anon', TEST_IMAGE, ...QUICK,
      ]);
      expect(result.exitCode, result.stderr).toBe(0);
      expect(result.stderr).toContain('named volume was automatically created');
      const mounts = (await inspect(id)).configuration.mounts;
      const at = (destination: string): Mount | undefined => mounts.find((m) => m.destination === destination);
      expect(mounts).toHaveLength(6);
      expect(at('/data')).toEqual({ destination: '/data', options: ['ro'], source: join(host, 'data'), type: { virtiofs: {} } });
      expect(at('/etc/hello.txt')).toEqual({ destination: '/etc/hello.txt', options: [], source: file, type: { virtiofs: {} } });
      expect(at('/proj')).toEqual({ destination: '/proj', options: [], source: join(host, 'proj'), type: { virtiofs: {} } });
      expect(at('/scratch')).toEqual({ destination: '/scratch', options: [], source: 'tmpfs', type: { tmpfs: {} } });
      const volumeType = parse<{ volume: { name: string } }>(fixture('fstype-volume.json'));
      expect(at('/vol')?.type).toEqual({ volume: { ...volumeType.volume, name: `acdt-${RUN}-vol` } });
      expect(at('/vol')?.source).toMatch(new RegExp(`/volumes/acdt-${RUN}-vol/volume\\.img$`));
      expect(at('/anon')?.type).toEqual({ volume: { ...volumeType.volume, name: expect.stringMatching(/^[0-9a-f-]{36}$/) as string } });
      expect((await c(['exec', id, 'cat', '/etc/hello.txt'])).stdout).toBe('from the host\n');
      const ro = await c(['exec', id, 'sh', '-c', 'touch /data/x']);
      expect(ro.exitCode).not.toBe(0);
      const missing = await c(['run', '-d', '-v', '/no/such/dir:/x', TEST_IMAGE, 'true']);
      expect(missing.stderr).toBe("Error: path '/no/such/dir' does not exist\n");
      const notDir = await c(['run', '-d', '--mount', `type=bind,source=${file},target=/x`, TEST_IMAGE, 'true']);
      expect(notDir.stderr).toBe(`Error: path '${file}' is not a directory\n`);
      const volumes = (await c(['volume', 'list', '-q'])).stdout.split('\n');
      expect(volumes).toContain(`acdt-${RUN}-vol`);
      const inUse = await c(['volume', 'delete', `acdt-${RUN}-vol`]);
      expect(inUse.exitCode).toBe(1);
      expect(inUse.stderr).toContain(`delete failed for one or more volumes: ["acdt-${RUN}-vol"]`);
      expect((await c(['delete', '-f', id])).exitCode).toBe(0);
    });

    it('fact 13: labels and published ports', async () => {
      const id = name('labels');
      const result = await c(['create', '--name', id, '-l', 'flag', '-l', 'k=v', '-p', '18999:80', '-p', '127.0.0.1:19000-19001:90-91/UDP', TEST_IMAGE, 'true']);
      expect(result.exitCode, result.stderr).toBe(0);
      const cfg = (await inspect(id)).configuration;
      expect(cfg.labels).toEqual({ flag: '', k: 'v' });
      expect(cfg.publishedPorts).toEqual([
        { containerPort: 80, count: 1, hostAddress: '0.0.0.0', hostPort: 18999, proto: 'tcp' },
        { containerPort: 90, count: 2, hostAddress: '127.0.0.1', hostPort: 19000, proto: 'udp' },
      ]);
      expect((await c(['run', '-d', '-l', 'a=b=c', TEST_IMAGE, 'true'])).stderr).toBe('Error: invalid label format a=b=c\n');
      expect((await c(['run', '-d', '-l', '', TEST_IMAGE, 'true'])).stderr).toBe('Error: label cannot be an empty string\n');
      const single = await c(['run', '-d', '-p', '80', TEST_IMAGE, 'true']);
      expect(single.exitCode).toBe(1);
      expect(single.stderr).toBe('Error: invalid publish value: 80\n');
      const overlap = await c(['run', '-d', '-p', '8000:80', '-p', '8000:81', TEST_IMAGE, 'true']);
      expect(overlap.stderr).toBe('Error: host ports for different publish port specs may not overlap\n');
    });

    it('fact 14: the builtin default network, hostOnly networks, several attachments, none', async () => {
      const list = parse<NetworkResource[]>((await c(['network', 'list', '--format', 'json'])).stdout);
      const def = list.find((n) => n.id === 'default');
      const example = parse<NetworkResource>(fixture('network-default-1.x.json'));
      expect([...keyPaths(def)].sort()).toEqual([...keyPaths(example)].filter((p) => !p.includes('ipv6Subnet')).sort());
      expect(def?.configuration.labels).toEqual(example.configuration.labels);
      expect(def?.configuration.mode).toBe('nat');
      expect(def?.status.ipv4Subnet).toMatch(CIDR);
      const table = expectTableLayout((await c(['network', 'list'])).stdout);
      expect(table[0]).toEqual(['NETWORK', 'SUBNET']);
      const delDefault = await c(['network', 'delete', 'default']);
      expect(delDefault.exitCode).toBe(1);
      expect(delDefault.stderr).toBe('Error: cannot delete a builtin network: default\n');

      const net = `acdt-${RUN}-back`;
      const created = await c(['network', 'create', '--internal', '--label', 'owner=test', net]);
      expect(created.exitCode, created.stderr).toBe(0);
      expect(created.stdout).toBe(`${net}\n`);
      expect((await c(['network', 'create', net])).stderr).toBe(`Error: network ${net} already exists\n`);
      expect((await c(['network', 'create', 'Upper'])).stderr).toBe('Error: invalid network name: Upper\n');
      const [back] = parse<NetworkResource[]>((await c(['network', 'inspect', net])).stdout);
      expect(back?.configuration.mode).toBe('hostOnly');
      expect(back?.configuration.labels).toEqual({ owner: 'test' });
      expect((await c(['network', 'inspect', 'nope'])).stderr).toBe('Error: network not found: nope\n');

      const id = name('multi');
      await runDetached(id, ['--network', 'default', '--network', net]);
      const value = await inspect(id);
      expect(value.configuration.networks.map((n) => [n.network, n.options.hostname])).toEqual([
        ['default', id],
        [net, id],
      ]);
      expect(value.status.networks.map((a) => a.network)).toEqual(['default', net]);
      const second = value.status.networks[1];
      expect(ipv4InSubnet(second?.ipv4Address.split('/')[0] ?? '', back?.status.ipv4Subnet ?? '')).toBe(true);
      const inUse = await c(['network', 'delete', net]);
      expect(inUse.exitCode).toBe(1);
      expect(inUse.stderr).toContain(`Error: delete failed for one or more networks: ["${net}"]`);

      const none = name('none');
      await runDetached(none, ['--network', 'none']);
      const isolated = await inspect(none);
      expect(isolated.configuration.networks).toEqual([]);
      expect(isolated.status.networks).toEqual([]);
      expect((await c(['run', '-d', '--network', 'nope', TEST_IMAGE, 'true'])).stderr).toBe('Error: network nope not found\n');

      await c(['delete', '-f', id, none]);
      const deleted = await c(['network', 'delete', net]);
      expect(deleted.exitCode, deleted.stderr).toBe(0);
      expect(deleted.stdout).toBe(`${net}\n`);
      expect((await c(['network', 'delete', net])).stderr).toBe(`Error: failed to delete one or more networks: ["${net}"]\n`);
    });

    it('fact 15: version strings', async () => {
      const version = await c(['--version']);
      const pattern = fixture('version-1.2.2.txt').trimEnd().replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace('1a2b3c4', '[0-9a-f]{7}');
      expect(version.stdout).toMatch(new RegExp(`^${pattern}\n$`));
      expect((await c(['--version'], { version: '0.9.0' })).stdout).toMatch(/^container CLI version 0\.9\.0 \(build: release, commit: [0-9a-f]{7}\)\n$/);
    });

    it('images: list, inspect, pull of a local image, pull and run of a missing one', async () => {
      const quiet = (await c(['image', 'list', '-q'])).stdout.split('\n');
      expect(quiet).toContain(TEST_IMAGE);
      const table = expectTableLayout((await c(['image', 'list'])).stdout);
      expect(table[0]).toEqual(['NAME', 'TAG', 'DIGEST']);
      const [resource] = parse<ImageResource[]>((await c(['image', 'inspect', TEST_IMAGE])).stdout);
      expect(resource?.configuration.name).toBe(`docker.io/library/${TEST_IMAGE}`);
      expect(resource?.id).toBe(resource?.configuration.descriptor.digest.replace('sha256:', ''));
      expect((await c(['image', 'inspect', 'nope:1'])).stderr).toBe('Error: image not found: nope:1\n');
      const pull = await c(['image', 'pull', '--progress', 'none', TEST_IMAGE]);
      expect(pull.exitCode).toBe(0);
      expect(pull.stdout).toBe('');
      const missing = await c(['image', 'pull', 'acdt-no-such-image']);
      expect(missing.exitCode).toBe(1);
      expect(missing.stderr).toContain('404 Not Found');
      expect(missing.stderr).toContain('https://registry-1.docker.io/v2/library/acdt-no-such-image/manifests/latest');
      expect((await c(['run', '-d', 'acdt-no-such-image', 'true'])).stderr).toContain('404 Not Found');
    });

    it('run attached: exit code passthrough, --rm, --entrypoint, -w, -e, --init', async () => {
      const attached = await c(['run', '--rm', '--name', name('attached'), '-e', 'A=1', '-w', '/tmp', '--entrypoint', 'sh', TEST_IMAGE, '-c', 'echo "$A $(pwd)"; exit 5']);
      expect(attached.exitCode).toBe(5);
      expect(attached.stdout).toBe('1 /tmp\n');
      expect((await c(['list', '--all', '-q'])).stdout.split('\n')).not.toContain(name('attached'));
      const init = name('init');
      await runDetached(init, ['--init']);
      expect((await inspect(init)).configuration.useInit).toBe(true);
      expect((await c(['exec', init, 'sh', '-c', 'cat /proc/1/cmdline | tr "\\0" " "'])).stdout).not.toMatch(/^sh /);
      await c(['delete', '-f', init]);
      const none = await c(['run', '-d', TEST_IMAGE]);
      expect(none.stderr).toBe('Error: command/entrypoint not specified for container process\n');
    });

    it('keeps to its own engine objects: names carry the state hash and the double label', async () => {
      const result = await run([engine, 'ps', '-a', '--filter', `label=dev.berth.container-double.state=${stateHash(state)}`, '--format', '{{.Names}}'], {
        env: BASE_ENV,
      });
      const names = result.stdout.split('\n').filter(Boolean);
      expect(names.length).toBeGreaterThan(0);
      for (const n of names) expect(n.startsWith(`acd-${stateHash(state)}-`)).toBe(true);
    });
  });
}

factsSuite('podman');
factsSuite('docker');

// ---------------------------------------------------------------------------------------------

describe('container double: legacy 0.x shapes (§3.4)', () => {
  const state = mkdtempSync(join(tmpdir(), 'acd-test-legacy-'));
  const c = doubleFor('podman', state);
  const id = `acdt-${RUN}-legacy`;
  const idle = `acdt-${RUN}-idle`;

  beforeAll(async () => {
    expect((await c(['system', 'start', '--enable-kernel-install'])).exitCode).toBe(0);
    expect((await c(['run', '-d', '--name', id, TEST_IMAGE, ...QUICK])).exitCode).toBe(0);
    expect((await c(['create', '--name', idle, TEST_IMAGE, 'true'])).exitCode).toBe(0);
  });

  afterAll(async () => {
    await cleanUp(c);
    rmSync(state, { recursive: true, force: true });
  });

  it('0.9: status string, top-level networks, seconds since 2001, no top-level id, --all ignored', async () => {
    const result = await c(['list', '--format', 'json'], { version: '0.9.0' });
    expect(result.exitCode).toBe(0);
    expect(result.stdout.split('\n')).toHaveLength(2);
    const list = parse<LegacyContainer[]>(result.stdout);
    expect(list.map((x) => x.configuration.id).sort()).toEqual([idle, id].sort()); // up to 0.9 --all is ignored
    const running = list.find((x) => x.configuration.id === id);
    if (!running) throw new Error('not listed');
    const example = fixture('list-0.8-0.12.txt');
    for (const key of Object.keys(running)) expect(example).toContain(`"${key}":`);
    expect(running).not.toHaveProperty('id');
    expect(running.status).toBe('running');
    const [attachment] = running.networks as Attachment[];
    expect(attachment?.ipv4Address).toMatch(CIDR);
    expect(attachment).not.toHaveProperty('mtu'); // 0.11 and later
    expect(attachment).not.toHaveProperty('variant'); // 1.1 and later
    const secondsSince2001 = (Date.now() - Date.UTC(2001, 0, 1)) / 1000;
    expect(typeof running.startedDate).toBe('number');
    expect(Math.abs((running.startedDate ?? 0) - secondsSince2001)).toBeLessThan(600);
    expect(running.configuration).not.toHaveProperty('creationDate');
    expect(running.configuration.resources).toEqual({ cpus: 4, memoryInBytes: 1073741824 });
    expect(running.configuration).not.toHaveProperty('useInit');
    const idleEntry = list.find((x) => x.configuration.id === idle);
    expect(idleEntry?.status).toBe('stopped');
    expect(idleEntry?.networks).toEqual([]);
    // the table still filters, with the ADDR header before 1.0
    const table = expectTableLayout((await c(['list'], { version: '0.9.0' })).stdout);
    expect(table[0]).toEqual(['ID', 'IMAGE', 'OS', 'ARCH', 'STATE', 'ADDR', 'CPUS', 'MEMORY', 'STARTED']);
    expect(table.map((r) => r[0])).toEqual(['ID', id]);
  });

  it('0.10+: list --format json honours --all; 0.12 adds useInit/capAdd, keeps unsorted compact JSON', async () => {
    const list = parse<LegacyContainer[]>((await c(['list', '--format', 'json'], { version: '0.12.3' })).stdout);
    expect(list.map((x) => x.configuration.id)).toEqual([id]);
    expect(list[0]?.configuration).toHaveProperty('useInit', false);
    expect((list[0]?.networks[0] as Attachment | undefined)?.mtu).toBe(1280);
  });

  it('0.7: address and gateway instead of ipv4Address, no startedDate', async () => {
    const list = parse<LegacyContainer[]>((await c(['list', '--format', 'json'], { version: '0.7.1' })).stdout);
    const entry = list.find((x) => x.configuration.id === id);
    const [attachment] = (entry?.networks ?? []) as LegacyAttachment[];
    expect(attachment?.address).toMatch(CIDR);
    expect(attachment?.gateway).toMatch(/^(\d{1,3}\.){3}\d{1,3}$/);
    expect(entry).not.toHaveProperty('startedDate');
  });

  it('0.x errors: inspect of unknown IDs prints [] with exit 0, stop ignores them, delete fails, code-prefixed texts', async () => {
    const inspect = await c(['inspect', 'nope'], { version: '0.9.0' });
    expect(inspect.exitCode).toBe(0);
    expect(inspect.stdout).toBe('[]\n');
    const known = parse<LegacyContainer[]>((await c(['inspect', id, 'nope'], { version: '0.12.3' })).stdout);
    expect(known.map((x) => x.configuration.id)).toEqual([id]);
    const stop = await c(['stop', 'nope'], { version: '0.9.0' });
    expect(stop.exitCode).toBe(0);
    expect(stop.stdout).toBe('');
    const del = await c(['delete', 'nope'], { version: '0.9.0' });
    expect(del.exitCode).toBe(1);
    expect(del.stderr).toBe('Error: notFound: "failed to delete one or more containers: ["nope"]"\n');
    const exec = await c(['exec', 'nope', 'true'], { version: '0.9.0' });
    expect(exec.stderr).toBe('Error: notFound: "get failed: container nope not found"\n');
    const stop10 = await c(['stop', 'nope'], { version: '0.10.0' });
    expect(stop10.stderr).toBe('Error: internalError: "failed to stop container" (cause: "notFound: "container with ID nope not found"")\n');
  });

  it('0.9: no cp, no name validation, no memory minimum; system status prints plain lines', async () => {
    const cp = await c(['cp', 'a', 'b'], { version: '0.9.0' });
    expect(cp.exitCode).toBe(64);
    expect(cp.stderr).toMatch(/^Error: Plugin 'container-cp' not found\.\n/);
    const small = await c(['create', '--name', `acdt-${RUN}-s`, '-m', '100m', TEST_IMAGE, 'true'], { version: '0.9.0' });
    expect(small.exitCode, small.stderr).toBe(0);
    const status = await c(['system', 'status'], { version: '0.9.0' });
    expect(status.exitCode).toBe(0);
    expect(status.stdout.split('\n')[0]).toBe('apiserver is running');
    const inspect = await c(['inspect', id], { version: '0.9.0' });
    expect(inspect.stdout.split('\n')).toHaveLength(2); // compact before 1.0
  });

  it('0.9: the system-not-started text wraps the hint inside the quoted message', async () => {
    const other = mkdtempSync(join(tmpdir(), 'acd-test-legacy-stopped-'));
    try {
      const result = await doubleFor('podman', other)(['list'], { version: '0.9.0' });
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toContain('XPC connection error: Connection invalid');
      expect(result.stderr).toContain('Ensure container system service has been started with `container system start`.');
      expect(result.stderr.startsWith('Error: interrupted: "internalError: "failed to list containers"')).toBe(true);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });
});

describe('container double: every gated option Berth passes follows version-gates.json', () => {
  const gates = (JSON.parse(readFileSync(fileURLToPath(new URL('../../src/runtime/apple/version-gates.json', import.meta.url)), 'utf8')) as {
    flags: { id: string; command: string; flag: string | null; since: string }[];
  }).flags.filter((row) => row.flag !== null && row.since !== '0.1.0' && row.command !== '');
  /** The tag before each first release (apple/container tags). */
  const before: Record<string, string> = { '0.2.0': '0.1.0', '0.3.0': '0.2.0', '0.5.0': '0.4.1', '0.7.0': '0.6.0', '0.9.0': '0.8.0', '0.10.0': '0.9.0', '0.12.0': '0.11.0' };
  const state = mkdtempSync(join(tmpdir(), 'acd-gates-'));
  const call = doubleFor('podman', state);
  afterAll(() => rmSync(state, { recursive: true, force: true }));

  it.each(gates.map((row) => [row.id, row] as const))('%s: unknown option (exit 64, usage) before its release, accepted from it', async (_id, row) => {
    const words = row.command === 'create' ? ['create'] : row.command.split(' ');
    const value = ['--cap-add', '--publish', '--progress', '--network', '--timeout', '--label'].includes(row.flag ?? '') ? [row.flag === '--progress' ? 'none' : row.flag === '--timeout' ? '60' : row.flag === '--publish' ? '127.0.0.1:1:1' : 'x=y'] : [];
    const argv = [...words, row.flag ?? '', ...value, '--help'];
    const old = await call(argv, { version: before[row.since] ?? '0.1.0' });
    expect(old.exitCode, old.stderr).toBe(64);
    expect(old.stderr).toMatch(new RegExp(`^Error: Unknown option '${row.flag ?? ''}'\\nUsage: container ${words.join(' ')} .*\\n  See 'container ${words.join(' ')} --help' for more information\\.\\n$`));
    const first = await call(argv, { version: row.since });
    expect(first.stderr).not.toContain('Unknown option');
    expect(first.exitCode).toBe(0);
  });
});
