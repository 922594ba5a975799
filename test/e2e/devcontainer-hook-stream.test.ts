import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runStreaming } from '../../src/process/run.js';
import { TEST_IMAGE, engineEnv } from '../support/engines.js';
import { waitFor } from '../support/wait-for.js';
import { BERTH_BIN, berthCli } from './cli-suite.js';

/**
 * `berth up --devcontainer` shows a hook's output while the hook runs, not after: the postCreate
 * hook prints a line, then waits for a file the test writes only once that line has reached the
 * CLI's stderr. Were the output held until the hook ended, the line would never come (the hook
 * gives up after a minute and fails). Its end is said with its time; parallel named commands'
 * lines carry their names.
 */
for (const kind of ['podman', 'docker'] as const) {
  describe(`hook output streams during berth up --devcontainer on ${kind}`, () => {
    const scratch = mkdtempSync(join(tmpdir(), `berth-dchook-${kind}-`));
    const id = `dchook-${randomUUID().slice(0, 8)}`;
    const root = join(scratch, 'proj');
    const env = { ...engineEnv(), BERTH_HOME: join(scratch, 'home'), BERTH_NO_DAEMON: '1', BERTH_RUNTIME: kind };

    afterAll(async () => {
      await berthCli(env)(['rm', id]);
      rmSync(scratch, { recursive: true, force: true });
    });

    it('each line as it comes, while the hook still runs', async () => {
      mkdirSync(join(root, '.devcontainer'), { recursive: true });
      const waitForGo = 'i=0; while [ ! -f go ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; [ -f go ]';
      writeFileSync(
        join(root, '.devcontainer/devcontainer.json'),
        JSON.stringify({
          image: TEST_IMAGE,
          postCreateCommand: { first: `echo before-go; ${waitForGo} && echo after-go`, other: 'echo from-other' },
        }),
      );
      let stderr = '';
      const up = runStreaming([process.execPath, BERTH_BIN, 'up', id, '--root', root, '--devcontainer'], {
        env,
        okExitCodes: 'any',
        timeoutMs: 150_000,
        onStderr: (chunk) => (stderr += chunk.toString('utf8')),
      });
      await waitFor(() => stderr.includes('[first] before-go\n'), { timeout: 120_000, interval: 50, message: `the hook's first line on stderr while it runs (so far: ${stderr})` });
      expect(stderr).not.toContain('[first] after-go');
      writeFileSync(join(root, 'go'), '');
      expect((await up).exitCode, stderr).toBe(0);
      expect(stderr).toContain('--- postCreateCommand "first": /bin/sh -c');
      expect(stderr).toContain('[other] from-other\n');
      expect(stderr).toMatch(/\[first\] before-go\n[\s\S]*\[first\] after-go\n[\s\S]*--- postCreateCommand "first" done after \d+\.\d s\n/);
      // Not a terminal: no status line, no escapes.
      expect(stderr).not.toContain('\u001b[');
    }, 180_000);
  });
}
