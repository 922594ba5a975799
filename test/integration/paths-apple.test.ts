import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appleOnDouble } from '../support/apple-double.js';
import { TEST_IMAGE } from '../support/engines.js';
import { expectCode } from '../support/expect-code.js';

/**
 * Paths the Apple CLI cannot express, on the double (1.2.2): `--mount` splits on "," and "="
 * (Parser.swift@1.2.2 lines 367, 373), `cp` on every ":" (ContainerCopy.swift@1.2.2 lines 32-40).
 * Berth says so before calling the CLI (mounts) or copies another way (tar over exec).
 */
describe('Apple container paths the CLI cannot express (double 1.2.2)', () => {
  const runtime = appleOnDouble('1.2.2');
  const run8 = randomUUID().slice(0, 8);
  const scratch = mkdtempSync(join(tmpdir(), 'berth-apple-paths-'));
  const name = `paths-${run8}`;

  beforeAll(async () => {
    await runtime.create({ name, image: TEST_IMAGE, command: ['tail', '-f', '/dev/null'], init: true, labels: {} }, { start: true });
  });
  afterAll(async () => {
    await runtime.remove(name, { force: true }).catch(() => undefined);
    rmSync(scratch, { recursive: true, force: true });
  });

  it.each([',', '='])('refuses a folder mount whose path has "%s", naming it, before any CLI call', async (char) => {
    const folder = join(scratch, `a${char}b`);
    mkdirSync(folder);
    const error = await expectCode(
      runtime.create({ name: `paths-bad-${run8}`, image: TEST_IMAGE, labels: {}, mounts: [{ source: folder, target: '/data', readOnly: false }] }),
      'E_INVALID_INPUT',
    );
    expect(error.message).toContain(folder);
  });

  it('copies files whose host path has ":" (which cp cannot say) through tar, both ways', async () => {
    const from = join(scratch, 'with:colon.txt');
    writeFileSync(from, 'hello');
    await runtime.copyIn(name, from, '/tmp/in.txt');
    expect((await runtime.exec(name, ['cat', '/tmp/in.txt'])).stdout).toBe('hello');
    const back = join(scratch, 'back:colon.txt');
    await runtime.copyOut(name, '/tmp/in.txt', back);
    expect(readFileSync(back, 'utf8')).toBe('hello');
  });
});
