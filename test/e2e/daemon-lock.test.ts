import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { connectDaemon } from '../../src/client/index.js';
import { run } from '../../src/process/index.js';
import { BERTHD_BIN } from '../support/daemon.js';
import { waitFor } from '../support/wait-for.js';

/**
 * Daemons started at the same instant on one $BERTH_HOME: exactly one wins, the others say who holds
 * the lock and exit 1. (Host mode: the race is about the lock, not an engine.)
 */
describe('one daemon per $BERTH_HOME, even when several start at once', () => {
  const home = mkdtempSync(join(tmpdir(), 'berth-lock-'));
  const env = { ...process.env, BERTH_HOME: home };

  afterAll(() => rmSync(home, { recursive: true, force: true }));

  it('lets exactly one of five simultaneous starts run', async () => {
    const settled: { exitCode: number; stderr: string }[] = [];
    const starts = Array.from({ length: 5 }, () =>
      run([process.execPath, BERTHD_BIN, '--runtime', 'host'], { env, okExitCodes: 'any', timeoutMs: 30_000 }).then((result) => {
        settled.push({ exitCode: result.exitCode, stderr: result.stderr });
      }),
    );
    await waitFor(() => settled.length >= 4, { timeout: 20_000, message: 'four starts to give up' });
    expect(settled).toHaveLength(4);
    for (const loser of settled) {
      expect(loser.exitCode).toBe(1);
      expect(loser.stderr).toContain('A Berth daemon already runs for this state folder');
    }
    const winner = await (await connectDaemon({ home }))?.health();
    if (!winner || winner.pid <= 0) throw new Error('no daemon answers: none of the five won');
    process.kill(winner.pid, 'SIGTERM');
    await Promise.all(starts);
    expect(settled.at(-1)?.exitCode).toBe(0);
  });
});
