import { describe, expect, it } from 'vitest';
import type { BerthError } from '../../src/errors.js';
import { hostPathFor } from '../../src/runtime/host/host-runtime.js';
import type { ContainerSpec, Mount } from '../../src/runtime/types.js';
import { thrownBy } from '../support/expect-code.js';
import { validateContainerName, validateContainerSpec, validateEnv, validateLabels } from '../../src/runtime/validate-spec.js';

const VALID: ContainerSpec = {
  name: 'berth-fixture',
  image: 'berth-workspace:test',
  command: ['sleep', 'infinity'],
  env: { API_TOKEN: 'secret with spaces, commas\nand newlines', _private: '1', PATH2: '' },
  labels: { 'dev.berth.managed': 'true', 'dev.berth/workspace-id_1': 'fixture' },
  mounts: [
    { source: '/tmp/berth-fixture/src', target: '/workspace', readOnly: false },
    { source: '/tmp/berth fixture (copy)', target: '/tmp/berth-fixture', readOnly: true },
  ],
  workdir: '/workspace',
  cpus: 0.5,
  memoryBytes: 1,
  ports: [{ hostAddress: '127.0.0.1', hostPort: 18080, containerPort: 8080, protocol: 'tcp' }],
  init: true,
};

function invalid(fn: () => void): BerthError {
  const berth = thrownBy(fn);
  expect(berth.code).toBe('E_INVALID_INPUT');
  expect(berth.hint).toEqual(expect.any(String));
  return berth;
}

const spec = (patch: Partial<ContainerSpec>): ContainerSpec => ({ ...VALID, ...patch });

describe('validateContainerSpec', () => {
  it('accepts a full valid spec and a minimal one', () => {
    expect(() => validateContainerSpec(VALID)).not.toThrow();
    expect(() => validateContainerSpec({ name: 'ab', image: 'alpine' })).not.toThrow();
  });

  it.each([
    ['one character', 'a'],
    ['empty', ''],
    ['a space inside', 'berth fixture'],
    ['a leading space', ' berth'],
    ['a trailing newline', 'berth\n'],
    ['a leading dash', '-berth'],
    ['a leading dot', '.berth'],
    ['a slash', 'berth/fixture'],
    ['a colon', 'berth:fixture'],
    ['129 characters', `a${'b'.repeat(128)}`],
  ])('rejects a name with %s', (_label, name) => {
    const error = invalid(() => validateContainerSpec(spec({ name })));
    expect(error.message).toBe(`Invalid container name ${JSON.stringify(name)}.`);
  });

  it.each([
    ['two characters', 'ab'],
    ['63 characters', `a${'b'.repeat(62)}`],
    ['64 characters', `a${'b'.repeat(63)}`],
    ['128 characters', `a${'b'.repeat(127)}`],
    ['digits, dots, dashes and underscores', '0berth_fixture.v2-x'],
  ])('accepts a name with %s', (_label, name) => {
    expect(() => validateContainerName(name)).not.toThrow();
    expect(() => validateContainerSpec(spec({ name }))).not.toThrow();
  });

  it.each(['1ABC', 'A-B', 'A B', '', 'A=B', 'PÄTH'])('rejects the env name %j', (key) => {
    const error = invalid(() => validateContainerSpec(spec({ env: { [key]: 'v' } })));
    expect(error.message).toBe(`Invalid environment variable name ${JSON.stringify(key)} in container berth-fixture.`);
  });

  it('rejects an env value with a NUL byte', () => {
    const error = invalid(() => validateContainerSpec(spec({ env: { OK: 'a\0b' } })));
    expect(error.message).toBe('Environment variable OK in container berth-fixture contains a NUL byte.');
  });

  it('names the place in validateEnv errors', () => {
    expect(invalid(() => validateEnv({ 'bad-name': 'x' }, 'exec')).message).toBe('Invalid environment variable name "bad-name" in exec.');
    expect(() => validateEnv(undefined, 'exec')).not.toThrow();
  });

  it('rejects bad label keys and multi-line label values', () => {
    expect(invalid(() => validateLabels({ '-x': 'v' })).message).toBe('Invalid label key "-x".');
    expect(invalid(() => validateLabels({ 'a b': 'v' })).message).toBe('Invalid label key "a b".');
    expect(invalid(() => validateLabels({ 'dev.berth.x': 'one\ntwo' })).message).toBe('Label dev.berth.x has a newline or NUL in its value.');
    expect(invalid(() => validateContainerSpec(spec({ labels: { 'k=v': 'x' } }))).message).toBe('Invalid label key "k=v".');
  });

  it('rejects an image reference an engine CLI would read as a flag', () => {
    const error = invalid(() => validateContainerSpec(spec({ image: '--privileged' })));
    expect(error.message).toBe('Invalid image reference "--privileged".');
    expect(invalid(() => validateContainerSpec(spec({ image: 'node 22' }))).message).toBe('Invalid image reference "node 22".');
  });

  it('rejects an empty or blank image', () => {
    expect(invalid(() => validateContainerSpec(spec({ image: '' }))).message).toBe('The container spec has no image.');
    expect(invalid(() => validateContainerSpec(spec({ image: '  ' }))).message).toBe('The container spec has no image.');
  });

  it.each([
    ['source', { source: 'relative/src', target: '/workspace', readOnly: false }, 'Mount source "relative/src" is not an absolute path.'],
    ['source', { source: './src', target: '/workspace', readOnly: false }, 'Mount source "./src" is not an absolute path.'],
    ['source', { source: '', target: '/workspace', readOnly: false }, 'Mount source "" is not an absolute path.'],
    ['target', { source: '/src', target: 'workspace', readOnly: false }, 'Mount target "workspace" is not an absolute path.'],
  ] as const)('rejects a relative mount %s', (_field, mount, message) => {
    expect(invalid(() => validateContainerSpec(spec({ mounts: [mount] }))).message).toBe(message);
  });

  it.each([
    [{ source: '/tmp/a,b', target: '/workspace', readOnly: false }, 'Mount source "/tmp/a,b" contains a comma, newline or NUL, which container engines cannot express.'],
    [{ source: '/tmp/src', target: '/work,readonly=false', readOnly: true }, 'Mount target "/work,readonly=false" contains a comma, newline or NUL, which container engines cannot express.'],
    [{ source: '/tmp/a\nb', target: '/workspace', readOnly: false }, 'Mount source "/tmp/a\\nb" contains a comma, newline or NUL, which container engines cannot express.'],
    [{ source: '/tmp/src', target: '/work\0', readOnly: false }, 'Mount target "/work\\u0000" contains a comma, newline or NUL, which container engines cannot express.'],
  ] satisfies [Mount, string][])('rejects mount paths engines cannot express: %j', (mount, message) => {
    expect(invalid(() => validateContainerSpec(spec({ mounts: [mount] }))).message).toBe(message);
  });

  it('checks every mount, not just the first', () => {
    const mounts: Mount[] = [
      { source: '/ok', target: '/ok', readOnly: false },
      { source: '/also/ok', target: 'not-ok', readOnly: false },
    ];
    expect(invalid(() => validateContainerSpec(spec({ mounts }))).message).toBe('Mount target "not-ok" is not an absolute path.');
  });

  it.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY])('rejects cpus %s', (cpus) => {
    expect(invalid(() => validateContainerSpec(spec({ cpus }))).message).toBe(`cpus must be a positive number, got ${String(cpus)}.`);
  });

  it.each([0.25, 1, 16])('accepts cpus %s', (cpus) => {
    expect(() => validateContainerSpec(spec({ cpus }))).not.toThrow();
  });

  it.each([1.5, 0, -1024, Number.NaN, 2 ** 53])('rejects memoryBytes %s', (memoryBytes) => {
    expect(invalid(() => validateContainerSpec(spec({ memoryBytes }))).message).toBe(
      `memory must be a positive whole number of bytes, got ${String(memoryBytes)}.`,
    );
  });

  it.each([1, 536870912, 2 ** 53 - 1])('accepts memoryBytes %s', (memoryBytes) => {
    expect(() => validateContainerSpec(spec({ memoryBytes }))).not.toThrow();
  });
});

describe('hostPathFor', () => {
  const mounts: Mount[] = [
    { source: '/home/me/project', target: '/workspace', readOnly: false },
    { source: '/home/me/.cache/berth', target: '/workspace/.cache', readOnly: false },
    { source: '/home/me/tools', target: '/opt/tools', readOnly: true },
  ];

  it('maps a path under a mount into its source', () => {
    expect(hostPathFor(mounts, '/workspace/src/index.ts')).toBe('/home/me/project/src/index.ts');
    expect(hostPathFor(mounts, '/opt/tools/bin/x')).toBe('/home/me/tools/bin/x');
  });

  it('maps the mount target itself to the source', () => {
    expect(hostPathFor(mounts, '/workspace')).toBe('/home/me/project');
    expect(hostPathFor(mounts, '/workspace/')).toBe('/home/me/project');
    // A target given with a trailing slash maps the same way.
    expect(hostPathFor([{ source: '/home/me/p', target: '/workspace/', readOnly: false }], '/workspace')).toBe('/home/me/p');
    expect(hostPathFor(mounts, '/workspace/.cache')).toBe('/home/me/.cache/berth');
  });

  it('lets the deepest mount win, whatever the order of the mounts', () => {
    expect(hostPathFor(mounts, '/workspace/.cache/npm/x')).toBe('/home/me/.cache/berth/npm/x');
    expect(hostPathFor([...mounts].reverse(), '/workspace/.cache/npm/x')).toBe('/home/me/.cache/berth/npm/x');
    // A sibling with the same prefix is not under the deeper mount.
    expect(hostPathFor(mounts, '/workspace/.cachex/y')).toBe('/home/me/project/.cachex/y');
  });

  it('does not treat /workspacefoo as under /workspace', () => {
    expect(hostPathFor(mounts, '/workspacefoo')).toBe('/workspacefoo');
    expect(hostPathFor(mounts, '/workspacefoo/bar')).toBe('/workspacefoo/bar');
    expect(hostPathFor(mounts, '/opt/toolsbox')).toBe('/opt/toolsbox');
  });

  it('returns a path outside every mount unchanged (normalized)', () => {
    expect(hostPathFor(mounts, '/etc/hosts')).toBe('/etc/hosts');
    expect(hostPathFor(mounts, '/')).toBe('/');
    expect(hostPathFor([], '/workspace/x')).toBe('/workspace/x');
    expect(hostPathFor(mounts, '//etc/./hosts')).toBe('/etc/hosts');
  });

  it('normalizes the container path before matching, so .. cannot escape or sneak in', () => {
    expect(hostPathFor(mounts, '/workspace/../etc/passwd')).toBe('/etc/passwd');
    expect(hostPathFor(mounts, '/workspace/src/../../workspace/a')).toBe('/home/me/project/a');
    expect(hostPathFor(mounts, '/tmp/../workspace/b')).toBe('/home/me/project/b');
  });

  it('handles a mount at the root', () => {
    const root: Mount[] = [{ source: '/srv/root', target: '/', readOnly: false }, ...mounts];
    expect(hostPathFor(root, '/etc/hosts')).toBe('/srv/root/etc/hosts');
    expect(hostPathFor(root, '/workspace/a')).toBe('/home/me/project/a');
  });
});
