import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createBerth } from '../../src/berth.js';
import { run } from '../../src/process/index.js';

const EXAMPLE = join(import.meta.dirname, '../../examples/embed/spawn.mjs');

/** docs/embedding.md's spawn example runs as written (host mode: no engine needed; built package). */
describe('the spawn example', () => {
  const home = mkdtempSync(join(tmpdir(), 'berth-spawn-example-'));
  const env = { ...process.env, BERTH_HOME: home, BERTH_RUNTIME: 'host' };
  const id = 'spawn-example-test';

  afterAll(async () => {
    const berth = await createBerth({ home, runtime: 'host' });
    await berth.remove(id).catch(() => undefined);
    await berth.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('talks to a spawned server, then re-attaches from a new Berth, replays its output and ends it', async () => {
    const { stdout } = await run([process.execPath, EXAMPLE, id], { env, timeoutMs: 60_000 });
    expect(stdout).toMatch(/^spawned [0-9a-f-]{36}: sh -c echo ready/m);
    expect(stdout).toContain('it answered: echo: hello');
    expect(stdout).toContain('after a restart it replayed: "ready\\necho: hello\\necho: again\\n"');
    expect(stdout).toContain('ended: exit null, signal SIGTERM');
  });
});
