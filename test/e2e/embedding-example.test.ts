import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../../src/process/index.js';
import { startDaemon } from '../support/daemon.js';

const EXAMPLE = join(import.meta.dirname, '../../examples/embed/embed.mjs');

/** docs/embedding.md's example runs as written, in-process and through a daemon (host mode: no engine needed). */
describe('the embedding example', () => {
  const home = mkdtempSync(join(tmpdir(), 'berth-embed-'));
  const env = { ...process.env, BERTH_HOME: home, BERTH_RUNTIME: 'host' };
  const example = () => run([process.execPath, EXAMPLE, 'embed-test'], { env, timeoutMs: 60_000 });

  afterAll(() => rmSync(home, { recursive: true, force: true }));

  it('brings the workspace up in-process, then reuses it through the daemon', async () => {
    const local = await example();
    expect(local.stdout).toContain('in-process (host)');
    expect(local.stdout).toContain('embed-test: created, running');
    expect(local.stdout).toContain('hello.mjs says: hello from');
    const daemon = await startDaemon(home, env, ['--runtime', 'host']);
    try {
      const remote = await example();
      expect(remote.stdout).toContain(`via the daemon (pid ${String(daemon.pid)}, host)`);
      expect(remote.stdout).toContain('embed-test: reused, running');
      expect(remote.stdout).toMatch(/event \d+ workspace.created/);
    } finally {
      await daemon.stop();
    }
  });
});
