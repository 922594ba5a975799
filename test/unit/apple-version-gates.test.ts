/**
 * The Apple argv builders against version-gates.json, release by release: no builder may emit a
 * command or flag to a release older than its row says (a CLI usage error, exit 64, on a real Mac),
 * and every flag a builder emits must have a row. The releases are the tags of apple/container.
 */
import { describe, expect, it } from 'vitest';
import { isBerthError } from '../../src/errors.js';
import {
  appleNetworkName,
  buildCommand,
  copyCommand,
  createCommand,
  deleteCommand,
  execCommand,
  interactiveExecCommand,
  listCommand,
  logsCommand,
  networkCreateCommand,
  stopCommand,
  systemStartCommand,
  systemStatusCommand,
} from '../../src/runtime/apple/commands.js';
import { needsNetAdmin, firewalledCommand } from '../../src/egress/guest-firewall.js';
import { atLeast, isSupported, MIN_APPLE_VERSION, parseAppleVersion, VERSION_GATES, type AppleVersion } from '../../src/runtime/apple/version.js';

/** Every tag of github.com/apple/container up to the newest one read (git tag, 2026-12). */
const RELEASES = [
  '0.1.0', '0.2.0', '0.3.0', '0.4.0', '0.4.1', '0.5.0', '0.6.0', '0.7.0', '0.7.1', '0.8.0', '0.9.0', '0.10.0',
  '0.11.0', '0.12.0', '0.12.1', '0.12.2', '0.12.3', '1.0.0', '1.1.0', '1.2.0', '1.2.1', '1.2.2',
];

const v = (text: string): AppleVersion => {
  const version = parseAppleVersion(`container CLI version ${text}`);
  if (!version) throw new Error(text);
  return version;
};

const SPEC = {
  name: 'berth-ws',
  image: 'berth-workspace:latest',
  command: firewalledCommand('10.0.0.1', 3128, ['tail', '-f', '/dev/null']),
  env: { TOKEN: 'x', PATH: '/bin' },
  labels: { 'dev.berth.managed': 'true' },
  mounts: [
    { source: '/Users/me/p', target: '/workspace', readOnly: false },
    { source: '/Users/me/.gitconfig', target: '/root/.gitconfig', readOnly: true },
  ],
  workdir: '/workspace',
  user: 'root',
  cpus: 2,
  memoryBytes: 2 * 1024 ** 3,
  network: 'berth-net-ws',
  ports: [{ hostAddress: '127.0.0.1', hostPort: 49001, containerPort: 41000, protocol: 'tcp' as const }],
  init: true,
};

/** The command keys whose rows apply: `create` rows to run and create, `run` rows to run; two words for subcommands. */
function commandOf(args: readonly string[]): string[] {
  const [first = '', second = ''] = args;
  if (first === 'run') return ['create', 'run'];
  return [['network', 'system', 'image'].includes(first) ? `${first} ${second}` : first];
}

/** Every argv Berth builds for this release, with everything switched on, each cut at its first positional. */
function everyArgv(version: AppleVersion): { args: readonly string[]; flagsEnd: number }[] {
  const until = (args: readonly string[], word: string) => ({ args, flagsEnd: args.indexOf(word) });
  const all: { args: readonly string[]; flagsEnd: number }[] = [];
  const attempt = (build: () => { args: readonly string[]; flagsEnd: number }) => {
    try {
      all.push(build());
    } catch (error) {
      // A builder may refuse (with the release needed), never emit what the release lacks.
      if (!isBerthError(error, 'E_UNSUPPORTED')) throw error;
    }
  };
  for (const start of [false, true]) {
    attempt(() => until(createCommand(SPEC, version, { start, isFile: (path) => path.endsWith('.gitconfig'), netAdmin: needsNetAdmin(SPEC.command) }).args, SPEC.image));
  }
  attempt(() => until(interactiveExecCommand('berth-ws', ['ls', '-l'], { env: { A: '1' }, workdir: '/w', user: 'root' }, true).args, 'berth-ws'));
  attempt(() => until(execCommand('berth-ws', ['ls', '-l'], { env: { A: '1' }, workdir: '/w', user: 'root', input: '' }).args, 'berth-ws'));
  attempt(() => until(buildCommand({ contextDir: '/ctx', tag: 't:1', dockerfile: 'Containerfile', buildArgs: { V: '2' }, labels: { a: 'b' } }).args, '/ctx'));
  attempt(() => until(networkCreateCommand({ name: 'berth-net-ws', internal: true, labels: { a: 'b' } }, version).args, 'berth-net-ws'));
  attempt(() => until(networkCreateCommand({ name: 'plain', internal: false, labels: {} }, version).args, 'plain'));
  for (const kernel of [true, false]) attempt(() => ({ args: systemStartCommand(version, kernel, 60).args, flagsEnd: Infinity }));
  attempt(() => ({ args: systemStatusCommand(version).args, flagsEnd: Infinity }));
  attempt(() => ({ args: listCommand().args, flagsEnd: Infinity }));
  attempt(() => until(stopCommand('berth-ws', 5, 60_000).args, 'berth-ws'));
  attempt(() => until(deleteCommand('berth-ws', true).args, 'berth-ws'));
  attempt(() => until(logsCommand('berth-ws', { follow: true, tail: 5 }).args, 'berth-ws'));
  attempt(() => until(copyCommand(version, '/a', 'berth-ws:/b', 'berth-ws').args, '/a'));
  return all;
}

describe('Apple version gates (version-gates.json)', () => {
  it('every row cites its source and a release that exists', () => {
    for (const row of [...VERSION_GATES.flags, ...VERSION_GATES.behaviours]) {
      expect(row.source, row.id).toMatch(/@\d+\.\d+\.\d+|\b[0-9a-f]{7}\b|issue 19|research notes/);
      expect(RELEASES, row.id).toContain(row.since);
    }
    expect(RELEASES).toContain(MIN_APPLE_VERSION);
  });

  it.each(RELEASES.filter((release) => isSupported(v(release))))('no builder emits a command or flag that %s lacks, and every flag has a row', (release) => {
    const version = v(release);
    for (const { args, flagsEnd } of everyArgv(version)) {
      const commands = commandOf(args);
      const command = commands[0] ?? '';
      const commandRow = VERSION_GATES.flags.find((row) => row.command === command && row.flag === null);
      expect(commandRow, `no row for the command "${command}"`).toBeDefined();
      expect(atLeast(version, commandRow?.since ?? '99.0.0'), `${command} on ${release}`).toBe(true);
      const words = args.slice(0, flagsEnd === -1 ? args.length : flagsEnd);
      for (const flag of words.filter((word) => word.startsWith('-'))) {
        const row = VERSION_GATES.flags.find((r) => commands.includes(r.command) && r.flag === flag);
        expect(row, `no row for ${command} ${flag}`).toBeDefined();
        expect(atLeast(version, row?.since ?? '99.0.0'), `${command} ${flag} (since ${row?.since ?? '?'}) emitted for ${release}`).toBe(true);
      }
    }
  });

  it('a fenced create asks for CAP_NET_ADMIN from 0.12 (where processes start without it), not before (where --cap-add does not exist)', () => {
    const fenced = { start: true, netAdmin: true };
    expect(createCommand(SPEC, v('0.11.0'), fenced).args).not.toContain('--cap-add');
    expect(createCommand(SPEC, v('0.12.0'), fenced).args.join(' ')).toContain('--cap-add CAP_NET_ADMIN');
    expect(createCommand(SPEC, v('1.2.2'), fenced).args.join(' ')).toContain('--cap-add CAP_NET_ADMIN');
    expect(createCommand({ ...SPEC, command: ['tail', '-f', '/dev/null'] }, v('1.2.2'), { start: true, netAdmin: needsNetAdmin(['tail', '-f', '/dev/null']) }).args).not.toContain('--cap-add');
  });

  it('what a release below a gate cannot do is refused with the release needed, never passed through', () => {
    let caught: unknown;
    try {
      networkCreateCommand({ name: 'n', internal: true, labels: {} }, v('0.8.0'));
    } catch (error) {
      caught = error;
    }
    expect(isBerthError(caught, 'E_UNSUPPORTED')).toBe(true);
    expect((caught as Error).message).toContain('needs Apple container 0.9.0 or later; this is 0.8.0');
    expect(systemStartCommand(v('0.9.0'), true, 60).args).toEqual(['system', 'start', '--enable-kernel-install']);
    expect(systemStartCommand(v('0.10.0'), false, 60).args).toEqual(['system', 'start', '--disable-kernel-install', '--timeout', '60']);
  });

  it('build args carry their values (the builder shim reads a bare NAME as empty)', () => {
    expect(buildCommand({ contextDir: '/c', tag: 't', buildArgs: { NAME: 'value' } }).args).toContain('NAME=value');
  });
});

describe('Apple network names (NetworkResource.swift@1.2.2 line 58)', () => {
  const valid = /^[a-z0-9](?:[a-z0-9._-]{0,61}[a-z0-9])?$/;
  it('keeps a name Apple accepts, and maps the others to a valid, stable, distinct one', () => {
    expect(appleNetworkName('berth-net-web')).toBe('berth-net-web');
    const longest = `berth-net-${'a'.repeat(56)}b`;
    const other = `berth-net-${'a'.repeat(56)}c`;
    for (const name of [longest, other, 'berth-net-trailing-', `berth-net-${'x-'.repeat(30)}`]) {
      expect(appleNetworkName(name)).toMatch(valid);
      expect(appleNetworkName(name)).toBe(appleNetworkName(name));
    }
    expect(appleNetworkName(longest)).not.toBe(appleNetworkName(other));
  });
});
