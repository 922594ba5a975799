import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../../src/process/index.js';

const MODULE = pathToFileURL(join(import.meta.dirname, '../../dist/workspace/installation.js')).href;

/**
 * Many processes on a fresh $BERTH_HOME at once all get the same, complete installation id (before:
 * one created the file and another read it before the id was written: "does not hold a uuid", seen
 * in the 50-process concurrency test under load).
 */
describe('the installation id, first use by many processes at once', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'berth-install-race-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('is one uuid for all of them, on every fresh home', async () => {
    for (let round = 0; round < 4; round++) {
      const home = join(scratch, `home-${String(round)}`);
      const script = `import(${JSON.stringify(MODULE)}).then((m) => console.log(m.installationId(${JSON.stringify(home)})))`;
      const results = await Promise.all(Array.from({ length: 24 }, () => run([process.execPath, '-e', script], { timeoutMs: 60_000, okExitCodes: 'any' })));
      for (const result of results) expect(result.exitCode, result.stderr).toBe(0);
      const ids = new Set(results.map((r) => r.stdout.trim()));
      expect(ids.size).toBe(1);
      expect([...ids][0]).toMatch(/^[0-9a-f-]{36}$/);
    }
  });
});
