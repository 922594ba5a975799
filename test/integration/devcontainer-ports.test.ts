import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Berth } from '../../src/berth.js';
import { run } from '../../src/process/run.js';
import type { ForwardedPortView } from '../../src/workspace/forwarded-ports.js';
import { appleDoubleEnv } from '../support/apple-double.js';
import { startDaemon, type RunningDaemon } from '../support/daemon.js';
import { TEST_IMAGE, engineEnv } from '../support/engines.js';
import { waitFor } from '../support/wait-for.js';

/**
 * forwardPorts with their portsAttributes label become previews of the workspace, on real engines
 * (and Apple's double, where the slot is published at create): before anything listens on 3000 the
 * listing says so and names no URL; once a server listens there (started by a plain exec, on
 * loopback only, as dev servers often bind) the listing gives a URL a real HTTP client gets the
 * page through, labelled "Frontend" in up's report, the API, the CLI (`berth dev ports`, `dev ls`)
 * and the daemon, which read the record kept with the workspace. A compose service's port is
 * listed as another service's, with no preview. https is the URL's scheme.
 */
const MAIN = join(import.meta.dirname, '../../dist/cli/main.js');
const CONFIG = {
  image: TEST_IMAGE,
  forwardPorts: [3000, 'db:5432', 8443],
  portsAttributes: { '3000': { label: 'Frontend', onAutoForward: 'openBrowser' }, '8000-9000': { label: 'Secure', protocol: 'https' } },
};

const cases = [
  { kind: 'podman', env: () => engineEnv() },
  { kind: 'docker', env: () => engineEnv() },
  { kind: 'apple', env: () => appleDoubleEnv('1.2.2') },
] as const;

for (const { kind, env: makeEnv } of cases) {
  describe(`forwarded ports as labelled previews on ${kind}`, () => {
    const scratch = mkdtempSync(join(tmpdir(), `berth-dcports-${kind}-`));
    const id = `dcports-${randomUUID().slice(0, 8)}`;
    const root = join(scratch, 'proj');
    const home = join(scratch, 'home');
    const env = makeEnv();
    let berth: Berth | null = null;
    let daemon: RunningDaemon | null = null;

    afterAll(async () => {
      await daemon?.stop().catch(() => undefined);
      await berth?.remove(id).catch(() => undefined);
      await berth?.close();
      rmSync(scratch, { recursive: true, force: true });
    });

    const cli = async (...args: string[]): Promise<string> => {
      const result = await run([process.execPath, MAIN, ...args], { env: { ...(env as Record<string, string>), BERTH_HOME: home, BERTH_RUNTIME: kind }, okExitCodes: 'any', timeoutMs: 60_000 });
      expect(result.exitCode, result.stderr).toBe(0);
      return result.stdout;
    };
    const frontend = (ports: readonly ForwardedPortView[]): ForwardedPortView | undefined => ports.find((p) => p.port === 3000);

    it('is listed as not listening (no URL) until a server listens, then reached through its preview URL, with its label', async () => {
      mkdirSync(join(root, '.devcontainer'), { recursive: true });
      writeFileSync(join(root, '.devcontainer/devcontainer.json'), JSON.stringify(CONFIG));
      const { createBerth } = await import('../../src/berth.js');
      berth = await createBerth({ home, runtime: kind, env, userHome: join(scratch, 'user') });
      const b = berth;

      const up = await b.upDevcontainer(id, { root });
      expect(up.devcontainer.ports).toEqual([
        { port: 3000, label: 'Frontend', protocol: null, service: null, onAutoForward: 'openBrowser', state: 'not-listening', url: null, note: null },
        { port: 5432, label: null, protocol: null, service: 'db', onAutoForward: null, state: 'other-service', url: null, note: expect.stringContaining('compose service "db"') as string },
        { port: 8443, label: 'Secure', protocol: 'https', service: null, onAutoForward: null, state: 'not-listening', url: null, note: null },
      ]);
      // Each forwarded port of its own container has a slot published at create (Apple: on top of its usual 8).
      const pool = up.container.ports.filter((p) => p.containerPort >= 41000);
      expect(pool.length).toBe(kind === 'apple' ? 10 : 2);

      // Another process (the CLI) reads the same record: not listening, no URL.
      const before = JSON.parse(await cli('dev', 'ports', id, '--json')) as ForwardedPortView[];
      expect(frontend(before)).toMatchObject({ label: 'Frontend', state: 'not-listening', url: null });

      // A server on 3000, bound to loopback inside (as dev servers often are), started by a plain exec.
      const started = await b.exec(id, ['sh', '-c', 'setsid python3 -m http.server 3000 --bind 127.0.0.1 > /tmp/web.log 2>&1 < /dev/null &']);
      expect(started.exitCode, started.stderr).toBe(0);
      const listening = await waitFor(async () => frontend(await b.dev.forwardedPorts(id))?.url, { timeout: 60_000, interval: 200, message: 'port 3000 to get a preview URL' });
      expect(listening).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      expect(pool.map((p) => `http://127.0.0.1:${String(p.hostPort)}/`)).toContain(listening);
      const answer = await fetch(listening, { signal: AbortSignal.timeout(10_000) });
      expect(answer.status).toBe(200);
      expect(await answer.text()).toContain('Directory listing');

      // The CLI lists it with its label and the same URL (json and the human table of `dev ls`).
      const after = JSON.parse(await cli('dev', 'ports', id, '--json')) as ForwardedPortView[];
      expect(frontend(after)).toMatchObject({ label: 'Frontend', state: 'listening', url: listening });
      expect(after.find((p) => p.port === 8443)).toMatchObject({ label: 'Secure', state: 'not-listening', url: null });
      const table = await cli('dev', 'ls', id);
      expect(table).toMatch(new RegExp(`3000\\s+Frontend\\s+listening\\s+${listening.replace(/[.:/]/g, '\\$&')}`));
      expect(table).toMatch(/db:5432\s+-\s+other-service/);
      // berth status names them too: the URL once something listens, the state (and why) when not.
      const status = JSON.parse(await cli('status', id, '--json')) as { forwardedPorts: ForwardedPortView[] };
      expect(frontend(status.forwardedPorts)).toMatchObject({ label: 'Frontend', state: 'listening', url: listening });
      const statusText = await cli('status', id);
      expect(statusText).toContain(`forwarded  3000 (Frontend): ${listening}`);
      expect(statusText).toContain('forwarded  8443 (Secure): not-listening');
      expect(statusText).toMatch(/forwarded {2}db:5432: other-service/);

      // The daemon (started after the up) reads the record too and answers with the same preview.
      daemon = await startDaemon(home, env, ['--runtime', kind]);
      const viaDaemon = await daemon.client.dev.forwardedPorts(id);
      expect(frontend(viaDaemon)).toMatchObject({ label: 'Frontend', state: 'listening', url: listening });
      expect((await fetch(listening, { signal: AbortSignal.timeout(10_000) })).status).toBe(200);

      // The planner sizes the pool as up did (Apple: the slots on top of its 8): the same workspace
      // declared in a berth.yaml plans nothing to do, where a differently sized pool would be drift.
      const manifest = join(scratch, 'berth.yaml');
      writeFileSync(manifest, `version: 1\nworkspaces:\n  ${id}:\n    runtime: ${kind}\n    root: ./proj\n    devcontainer: true\n`);
      const { planManifest } = await import('../../src/orchestrator/plan-manifest.js');
      expect((await planManifest(manifest, { open: () => Promise.resolve(b), env: process.env })).actions).toEqual([]);
    }, 300_000);

    it('an https port is previewed with the https scheme', async () => {
      const b = berth as Berth;
      // A TLS-speaking server is not needed to see the scheme: the bridge passes bytes through.
      const started = await b.exec(id, ['sh', '-c', 'setsid python3 -m http.server 8443 > /tmp/tls.log 2>&1 < /dev/null &']);
      expect(started.exitCode, started.stderr).toBe(0);
      const secure = await waitFor(async () => (await b.dev.forwardedPorts(id)).find((p) => p.port === 8443 && p.url !== null), { timeout: 60_000, interval: 200, message: 'port 8443 to get a preview URL' });
      expect(secure).toMatchObject({ label: 'Secure', protocol: 'https', state: 'listening' });
      expect(secure.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/$/);
      // The same slot answers plain HTTP here (this server speaks it): the URL is the bridge's.
      const plain = (secure.url ?? '').replace(/^https:/, 'http:');
      expect((await fetch(plain, { signal: AbortSignal.timeout(10_000) })).status).toBe(200);
    }, 120_000);
  });
}
