import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBerth, type Berth } from '../../src/berth.js';
import { appleDoubleEnv } from '../support/apple-double.js';
import { TEST_IMAGE, engineEnv } from '../support/engines.js';
import { expectCode } from '../support/expect-code.js';

interface Target {
  label: string;
  runtime: string;
  env: () => NodeJS.ProcessEnv;
  image?: string;
  unconfined?: boolean;
}

const targets: Target[] = [
  { label: 'podman', runtime: 'podman', env: engineEnv, image: TEST_IMAGE },
  { label: 'docker', runtime: 'docker', env: engineEnv, image: TEST_IMAGE },
  { label: 'host (sandboxed)', runtime: 'host', env: () => process.env },
  { label: 'apple 1.2.2 (double)', runtime: 'apple', env: () => appleDoubleEnv('1.2.2'), image: TEST_IMAGE },
];

/** The bytes the issue saw corrupted (`ff fe` came back `efbfbd efbfbd`), and a NUL. */
const HOSTILE_BYTES = Buffer.from([0xff, 0xfe, 0x00, 0x41]);

/**
 * berth.files: bytes-safe files anywhere in the workspace's own filesystem (not only the mounted
 * root), with hostile names, on every runtime.
 */
describe.each(targets)('$label: berth.files', ({ runtime, env, image }) => {
  const scratch = mkdtempSync(join(tmpdir(), 'berth-files-'));
  const root = join(scratch, 'project');
  const id = `files-${randomUUID().slice(0, 8)}`;
  let berth: Berth;

  beforeAll(async () => {
    mkdirSync(root);
    berth = await createBerth({ home: join(scratch, 'home'), runtime, env: env(), userHome: join(scratch, 'user') });
    await berth.up(id, { root, ...(image ? { image } : {}) });
  });

  afterAll(async () => {
    await berth?.remove(id).catch(() => undefined);
    await berth?.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('round-trips ff fe 00 41 and a 1 MiB random blob outside the root', async () => {
    const dir = `/tmp/berth-files-${randomUUID().slice(0, 6)}`;
    await berth.files.write(id, `${dir}/x`, HOSTILE_BYTES);
    expect(await berth.files.read(id, `${dir}/x`, { encoding: 'buffer' })).toEqual(HOSTILE_BYTES);
    // The workspace's own commands see the same bytes.
    const { stdout } = await berth.exec(id, ['od', '-An', '-tx1', `${dir}/x`]);
    expect(stdout.trim().split(/\s+/)).toEqual(['ff', 'fe', '00', '41']);

    const blob = randomBytes(1024 * 1024);
    await berth.files.write(id, `${dir}/blob.bin`, blob);
    const back = await berth.files.read(id, `${dir}/blob.bin`, { encoding: 'buffer' });
    expect(back.equals(blob)).toBe(true);
    const { stdout: size } = await berth.exec(id, ['stat', '-c', '%s', `${dir}/blob.bin`]);
    expect(size.trim()).toBe(String(blob.length));
  });

  it('relative paths start at /workspace, which is the root on the host', async () => {
    await berth.files.write(id, 'src/hello.txt', 'héllo\n');
    expect(readFileSync(join(root, 'src/hello.txt'), 'utf8')).toBe('héllo\n');
    expect(await berth.files.read(id, '/workspace/src/hello.txt')).toBe('héllo\n');
  });

  it('lists with types, sizes, times; hostile names work; non-UTF-8 names are listed with their bytes', async () => {
    const dir = `/tmp/berth-list-${randomUUID().slice(0, 6)}`;
    const names = ['plain.txt', 'with space', 'new\nline', '-leading-dash', '--', 'ünï'];
    for (const name of names) await berth.files.write(id, `${dir}/${name}`, name);
    for (const name of names) expect(await berth.files.read(id, `${dir}/${name}`)).toBe(name);
    await berth.exec(id, ['sh', '-c', `mkdir "$1/sub" && ln -s plain.txt "$1/link" && printf x > "$1/$(printf 'bad\\377name')"`, 'sh', dir]);
    const before = Date.now();
    const entries = await berth.files.list(id, dir);
    const byName = new Map(entries.map((e) => [e.name, e]));
    for (const name of names) expect(byName.get(name)).toMatchObject({ type: 'file', size: Buffer.byteLength(name), path: `${dir}/${name}` });
    expect(byName.get('sub')?.type).toBe('dir');
    expect(byName.get('link')?.type).toBe('symlink');
    expect(byName.get('plain.txt')?.mtimeMs).toBeGreaterThan(before - 10 * 60_000);
    const bad = entries.find((e) => e.rawName !== undefined);
    expect(bad && Buffer.from(bad.rawName ?? '', 'base64')).toEqual(Buffer.from('bad\xffname', 'latin1'));
    expect(entries).toHaveLength(names.length + 3);
    // A name no JS string can spell as UTF-8 bytes is refused, saying why.
    const refused = await expectCode(berth.files.read(id, `${dir}/bad\ud800name`), 'E_INVALID_INPUT');
    expect(refused.hint).toContain('rawName');

    const deep = await berth.files.list(id, dir, { recursive: true });
    await berth.files.write(id, `${dir}/sub/inner`, 'i');
    const deeper = await berth.files.list(id, dir, { recursive: true });
    expect(deeper.length).toBe(deep.length + 1);
    expect(deeper.find((e) => e.path === `${dir}/sub/inner`)).toMatchObject({ name: 'inner', type: 'file' });
  });

  it('removes files and folders; a folder with content only with recursive', async () => {
    const dir = `/tmp/berth-rm-${randomUUID().slice(0, 6)}`;
    await berth.files.write(id, `${dir}/a/b`, 'b');
    await berth.files.write(id, `${dir}/-f`, 'dash');
    await berth.files.remove(id, `${dir}/-f`);
    await expectCode(berth.files.read(id, `${dir}/-f`), 'E_NOT_FOUND');
    await expectCode(berth.files.remove(id, `${dir}/a`), 'E_INVALID_INPUT');
    await berth.files.remove(id, `${dir}/a`, { recursive: true });
    expect(await berth.files.list(id, dir)).toEqual([]);
  });

  it('not found is a BerthError with a hint, for every operation', async () => {
    const missing = `/tmp/berth-missing-${randomUUID().slice(0, 6)}`;
    for (const attempt of [() => berth.files.read(id, missing), () => berth.files.list(id, missing), () => berth.files.remove(id, missing)]) {
      const error = await expectCode(attempt(), 'E_NOT_FOUND');
      expect(error.message).toContain(missing);
      expect(error.hint).toBeTruthy();
    }
    await expectCode(berth.files.read(id, '/tmp'), 'E_INVALID_INPUT');
    await expectCode(berth.files.read('no-such-workspace', '/tmp/x'), 'E_NOT_FOUND');
  });
});

describe('host (unconfined): berth.files keeps to the workspace mounts', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'berth-files-open-'));
  const root = join(scratch, 'project');
  const id = `files-${randomUUID().slice(0, 8)}`;
  let berth: Berth;

  beforeAll(async () => {
    mkdirSync(root);
    berth = await createBerth({ home: join(scratch, 'home'), runtime: 'host', userHome: join(scratch, 'user') });
    await berth.up(id, { root, sandbox: 'off' });
  });

  afterAll(async () => {
    await berth?.remove(id).catch(() => undefined);
    await berth?.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('reads and writes bytes under /workspace (the root), refuses host paths outside it', async () => {
    await berth.files.write(id, '/workspace/bytes', HOSTILE_BYTES);
    expect(readFileSync(join(root, 'bytes'))).toEqual(HOSTILE_BYTES);
    expect(await berth.files.read(id, 'bytes', { encoding: 'buffer' })).toEqual(HOSTILE_BYTES);
    expect((await berth.files.list(id, '.')).map((e) => e.name)).toEqual(['bytes']);
    const error = await expectCode(berth.files.write(id, join(scratch, 'outside'), 'x'), 'E_INVALID_INPUT');
    expect(error.hint).toContain('sandboxed');
    await expectCode(berth.files.read(id, '/etc/passwd'), 'E_INVALID_INPUT');
    await expectCode(berth.files.read(id, '/workspace/../etc/passwd'), 'E_INVALID_INPUT');
  });
});
