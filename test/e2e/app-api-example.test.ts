import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../../src/process/index.js';
import { startDaemon } from '../support/daemon.js';

const EXAMPLE = join(import.meta.dirname, '../../examples/embed/app-api.mjs');

/**
 * docs/embedding.md's app API example (streamed exec, bytes, a terminal, files) runs as written
 * against the built package, in process and through a daemon (sandboxed host mode: no engine).
 */
describe('the app API example', () => {
  const home = mkdtempSync(join(tmpdir(), 'berth-app-api-'));
  const env = { ...process.env, BERTH_HOME: home, BERTH_RUNTIME: 'host' };
  const example = () => run([process.execPath, EXAMPLE, 'app-api-test'], { env, timeoutMs: 90_000 });

  afterAll(() => rmSync(home, { recursive: true, force: true }));

  function checkCommon(stdout: string): void {
    // The first line came a second before the second: streamed, not collected.
    const [first, second] = [...stdout.matchAll(/\+\s*(\d+) ms: (first|second)/g)].map((m) => Number(m[1]));
    expect(first, stdout).toBeDefined();
    expect((second ?? 0) - (first ?? 0), stdout).toBeGreaterThan(700);
    expect(stdout).toContain('bytes: fffe0041');
    expect(stdout).toContain('terminal size: 30 100');
    expect(stdout).toContain('files: 000102ff in note.bin (4 B)');
    expect(stdout).toContain('spawned process answered: got: ping');
    expect(stdout).toContain('re-attached and ended: SIGTERM');
  }

  it('streams, keeps bytes, runs a terminal and reads files, in process', async () => {
    const { stdout } = await example();
    expect(stdout).toContain('via in-process');
    checkCommon(stdout);
  });

  it('does the same through the daemon (exec, the terminal and spawned processes over its WebSockets, files over its API)', async () => {
    const daemon = await startDaemon(home, env, ['--runtime', 'host']);
    try {
      const { stdout } = await example();
      expect(stdout).toContain('via daemon');
      checkCommon(stdout);
    } finally {
      await daemon.stop();
    }
  });
});
