/**
 * The Apple test double's core without an engine: the configuration is one object read from the
 * environment it is given, output goes through the writer it is given, and options follow the
 * release table. (The double's behaviour end to end is test/apple-double/double.test.ts.)
 */
import { mkdtempSync, readFileSync, rmSync, openSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readConfig } from '../../tools/container-double/core/config.mjs';
import { parseArgs } from '../../tools/container-double/core/args.mjs';
import { Exit } from '../../tools/container-double/core/errors.mjs';
import { encodeJson, Writer } from '../../tools/container-double/core/output.mjs';
import { releaseFor } from '../../tools/container-double/core/release.mjs';
import { DISPATCH } from '../../tools/container-double/main.mjs';

const dir = mkdtempSync(join(tmpdir(), 'acd-core-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('container double core', () => {
  it('reads its configuration from the environment it is handed, once, into a frozen object', () => {
    const defaults = readConfig({}, '/opt/double/bin/container');
    expect(defaults).toMatchObject({ engine: 'podman', isDocker: false, version: '1.2.2', macos: 26, stateDir: '/var/tmp/berth-container-double' });
    expect(defaults.prefix).toMatch(/^acd-[0-9a-f]{8}-$/);
    expect(Object.isFrozen(defaults)).toBe(true);
    const set = readConfig(
      { CONTAINER_DOUBLE_ENGINE: '/usr/bin/docker', CONTAINER_DOUBLE_VERSION: '0.9.0', CONTAINER_DOUBLE_MACOS: '15', CONTAINER_DOUBLE_STATE: dir, CONTAINER_DOUBLE_HOSTONLY_ISOLATES: '1' },
      'x',
    );
    expect(set).toMatchObject({ isDocker: true, version: '0.9.0', macos: 15, stateDir: dir, hostOnlyIsolates: true, enforceResources: false });
    expect(set.prefix).not.toBe(defaults.prefix); // state directories do not see each other's objects
  });

  it('holds stdout until stderr is written, so the two keep their order on one file', () => {
    const file = join(dir, 'both');
    const fd = openSync(file, 'w');
    const io = new Writer(fd, fd);
    io.out('first\n');
    io.err('second\n');
    io.out('third\n');
    io.flush();
    closeSync(fd);
    expect(readFileSync(file, 'utf8')).toBe('first\nsecond\nthird\n');
  });

  it("encodes JSON as Swift's JSONEncoder: escaped slashes, nil omitted, sorted or not, pretty with ' : '", () => {
    const value = { b: '/x', a: [1, true], c: undefined, d: {} };
    expect(encodeJson(value, { sorted: true })).toBe('{"a":[1,true],"b":"\\/x","d":{}}');
    expect(encodeJson(value, { sorted: true, pretty: true })).toBe('{\n  "a" : [\n    1,\n    true\n  ],\n  "b" : "\\/x",\n  "d" : {\n\n  }\n}');
    expect(JSON.parse(encodeJson(value, { sorted: false }))).toEqual({ a: [1, true], b: '/x', d: {} });
  });

  it('an option below its release row is an unknown option (exit 64 with the usage line)', () => {
    const run = DISPATCH.run;
    if (!run || 'group' in run) throw new Error('run is a command');
    const argv = ['--cap-add', 'NET_ADMIN', 'alpine'];
    expect(parseArgs(releaseFor('0.12.0'), argv, run.spec).capAdd).toEqual(['NET_ADMIN']);
    let refused: unknown;
    try {
      parseArgs(releaseFor('0.11.0'), argv, run.spec);
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(Exit);
    expect((refused as Exit).exitCode).toBe(64);
    expect((refused as Exit).stderr).toMatch(/^Error: Unknown option '--cap-add'\nUsage: container run /);
  });
});
