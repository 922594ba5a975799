import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createBerth } from '../../src/berth.js';
import { run } from '../../src/process/index.js';
import { TEST_IMAGE, engineEnv } from '../support/engines.js';

const EXAMPLE = join(import.meta.dirname, '../../examples/embed/multi-runtime.mjs');

/** docs/embedding.md's "several runtimes" example runs as written: podman by default, host beside it (built package). */
describe('the multi-runtime example', () => {
  const home = mkdtempSync(join(tmpdir(), 'berth-multi-example-'));
  const env = { ...engineEnv(), BERTH_HOME: home, BERTH_RUNTIME: 'podman', BERTH_IMAGE: TEST_IMAGE };
  const id = `mrx-${String(process.pid)}`;

  afterAll(async () => {
    const berth = await createBerth({ home, runtime: 'podman', env });
    for (const ws of [`${id}-box`, `${id}-host`]) await berth.remove(ws).catch(() => undefined);
    await berth.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('serves a podman workspace and a host one from one Berth', async () => {
    const { stdout } = await run([process.execPath, EXAMPLE, id], { env, timeoutMs: 120_000 });
    expect(stdout).toContain(`event: ${id}-box created on podman`);
    expect(stdout).toContain(`event: ${id}-host created on host`);
    expect(stdout).toMatch(new RegExp(`${id}-box: hello from .*cwd /workspace`));
    expect(stdout).toMatch(new RegExp(`${id}-host: hello from .*cwd .*examples/hello`));
    expect(stdout).toContain(`listed ${id}-box: podman, running`);
    expect(stdout).toContain(`listed ${id}-host: host, running`);
    expect(stdout).toMatch(/runtimes: .*podman connected \(default\), host connected/);
  });
});
