import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BerthClient, ObservedListing } from '../../src/client/index.js';
import { LISTING_FRESH_MS } from '../../src/daemon/listing-cache.js';
import { engineSocketFor } from '../../src/runtime/oci/engine-socket.js';
import { engineCli } from '../support/behind-the-back.js';
import { countingSocket, type CountingSocket } from '../support/counting-socket.js';
import { startDaemon, type RunningDaemon } from '../support/daemon.js';
import { TEST_IMAGE, engineEnv } from '../support/engines.js';
import { waitFor } from '../support/wait-for.js';
import { BERTH_BIN, berthCli, json } from './cli-suite.js';

/**
 * Issue 17: the daemon answers `GET /workspaces` from its last observation while it is fresh, and
 * says how fresh. On podman and docker, the built berthd: what Berth changes (a CLI on the same home
 * without the daemon, i.e. another process; the daemon's own API) shows in the very next answer;
 * what changes behind Berth's back shows within LISTING_FRESH_MS; many requests at once cost one
 * engine list, counted on the engine's socket (a relay in front of it that notes every request).
 */
const LIST_CALL = /^GET \S*\/containers\/json\b/;
/** A bound no test waits out: an answer that changed was told by the change stamp, not by its age. */
const LONG_BOUND_MS = 600_000;

for (const engine of ['podman', 'docker'] as const) {
  describe(`${engine}: GET /workspaces from the daemon's last observation`, () => {
    const run8 = randomUUID().slice(0, 8);
    const scratch = mkdtempSync(join(tmpdir(), `berth-listing-${engine}-`));
    const home = join(scratch, 'home');
    const root = join(scratch, 'project');
    mkdirSync(root);
    const ws = `lf-${run8}-a`;
    const other = `lf-${run8}-b`;
    let relay: CountingSocket;
    let daemon: RunningDaemon | undefined;
    let client: BerthClient;
    const apiVar = engine === 'docker' ? 'BERTH_DOCKER_API' : 'BERTH_PODMAN_API';
    const env = (): NodeJS.ProcessEnv => ({ ...engineEnv(), BERTH_HOME: home, BERTH_RUNTIME: engine, [apiVar]: relay.path, BERTH_NO_DAEMON: undefined });
    /** The CLI as another process working on the same home by itself: it writes the state directly. */
    const separateCli = (args: string[]) => berthCli({ ...env(), BERTH_NO_DAEMON: '1' })(args);
    const stateOf = (listing: ObservedListing, id: string) => listing.workspaces.find((w) => w.id === id)?.state;

    const restartDaemon = async (extraEnv: NodeJS.ProcessEnv = {}): Promise<void> => {
      await client?.close().catch(() => undefined);
      await daemon?.stop();
      daemon = await startDaemon(home, { ...env(), ...extraEnv }, ['--runtime', engine]);
      client = daemon.client;
    };

    beforeAll(async () => {
      if (!existsSync(BERTH_BIN)) throw new Error('dist/cli/main.js is missing: run `npm run build` first (scripts/test.sh does).');
      const target = engineSocketFor(engine, engineEnv(), false);
      if (target === null) throw new Error(`${engine}: no engine API socket in this environment`);
      relay = await countingSocket(join(scratch, `${engine}-relay.sock`), target);
      await restartDaemon();
      await client.up(ws, { root, image: TEST_IMAGE });
    });

    afterAll(async () => {
      await client?.close().catch(() => undefined);
      await daemon?.stop();
      await relay?.close();
      const cli = engineCli(engine);
      for (const name of (await cli.names()).filter((n) => n.includes(run8))) await cli.remove(name);
      rmSync(scratch, { recursive: true, force: true });
    });

    it('twenty requests at once cost one engine list; the next answer within the bound is the same observation, with its age', async () => {
      await client.up(ws, { root, image: TEST_IMAGE }); // a change through the daemon: what it kept is stale
      const before = relay.requests.length;
      const answers = await Promise.all(Array.from({ length: 20 }, () => client.listObserved()));
      const lists = relay.requests.slice(before).filter((line) => LIST_CALL.test(line));
      expect(lists, relay.requests.slice(before).join('\n')).toHaveLength(1);
      // One observation: the requests that came while it ran shared it (live), any that came after it reused it (cached).
      expect(answers.map((a) => stateOf(a, ws))).toEqual(answers.map(() => 'running'));
      expect(new Set(answers.map((a) => a.observedAt)).size).toBe(1);
      expect(answers.filter((a) => a.source === 'live').length).toBeGreaterThanOrEqual(1);
      const again = await client.listObserved();
      const age = Date.now() - Date.parse(again.observedAt);
      // Reused unless the shared observation is already past the bound (a very slow engine list).
      if (age < LISTING_FRESH_MS) {
        expect(again).toMatchObject({ source: 'cached', observedAt: answers[0]?.observedAt });
        expect(again.ageMs).toBeLessThan(LISTING_FRESH_MS);
        expect(relay.requests.slice(before).filter((line) => LIST_CALL.test(line))).toHaveLength(1);
      }
      const forced = await client.listObserved({ fresh: true });
      expect(forced.source).toBe('live');
      expect(relay.requests.slice(before).filter((line) => LIST_CALL.test(line)).length).toBeGreaterThanOrEqual(2);
    });

    it(`a container stopped behind Berth's back (${engine} stop) shows stopped within the bound, and no answer observed after the stop says running`, async () => {
      await client.listObserved(); // something kept to be stale
      const container = (await client.status(ws)).container;
      await engineCli(engine).stop(container);
      const stoppedAt = Date.now();
      const answers: ObservedListing[] = [];
      const seen = await waitFor(
        async () => {
          const listing = await client.listObserved();
          answers.push(listing);
          return stateOf(listing, ws) === 'stopped' ? { listing, at: Date.now() } : null;
        },
        { timeout: 30_000, interval: 100, message: `${ws} listed stopped` },
      );
      // Within the bound, plus one listing's time and the poll's step on a busy machine.
      expect(seen.at - stoppedAt).toBeLessThan(LISTING_FRESH_MS + 5_000);
      for (const listing of answers) {
        if (Date.parse(listing.observedAt) >= stoppedAt) expect(stateOf(listing, ws)).toBe('stopped');
        if (listing.source === 'cached') expect(listing.ageMs).toBeLessThan(LISTING_FRESH_MS);
      }
      await client.up(ws, { root, image: TEST_IMAGE });
    });

    it('with a bound no test waits out, a separate CLI process (no daemon) that runs berth up and berth rm is seen in the very next answer', async () => {
      await restartDaemon({ BERTH_LISTING_FRESH_MS: String(LONG_BOUND_MS) });
      await client.listObserved();
      const kept = await client.listObserved();
      expect(kept.source).toBe('cached');
      expect(stateOf(kept, other)).toBeUndefined();

      json(await separateCli(['up', other, '--root', root, '--image', TEST_IMAGE, '--json']));
      const afterUp = await client.listObserved();
      expect(afterUp.source).toBe('live');
      expect(stateOf(afterUp, other)).toBe('running');
      expect((await client.listObserved()).source).toBe('cached');

      json(await separateCli(['rm', other, '--json']));
      const afterRm = await client.listObserved();
      expect(afterRm.source).toBe('live');
      expect(stateOf(afterRm, other)).toBeUndefined();
    });

    it('with that bound, a stop and an up through the daemon itself are seen in the very next answer; labels filter a kept answer', async () => {
      await client.listObserved();
      expect((await client.listObserved()).source).toBe('cached');
      await client.stop(ws);
      const afterStop = await client.listObserved();
      expect(afterStop.source).toBe('live');
      expect(stateOf(afterStop, ws)).toBe('stopped');
      await client.up(ws, { root, image: TEST_IMAGE, labels: { run: run8 } });
      const afterUp = await client.listObserved({ labels: { run: run8 } });
      expect(afterUp.workspaces.map((w) => [w.id, w.state])).toEqual([[ws, 'running']]);
      const filtered = await client.listObserved({ labels: { run: 'other' } });
      expect(filtered).toMatchObject({ source: 'cached', workspaces: [] });
    });

    it('the answer says how fresh it is in headers, over the raw HTTP API too; a bad fresh value is a 400', async () => {
      const { request } = await import('node:http');
      const get = (path: string) =>
        new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }>((resolve, reject) => {
          const req = request({ socketPath: join(home, 'berth.sock'), path, headers: { host: 'localhost' } }, (res) => {
            let body = '';
            res.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
          });
          req.on('error', reject).end();
        });
      const sent = Date.now();
      const live = await get('/workspaces?fresh=true');
      expect(live.status).toBe(200);
      expect(Array.isArray(JSON.parse(live.body))).toBe(true);
      expect(live.headers['x-berth-listing']).toBe('live');
      expect(Date.parse(String(live.headers['x-berth-observed-at']))).toBeGreaterThanOrEqual(sent - 5);
      expect(Number(live.headers['x-berth-age-ms'])).toBeGreaterThanOrEqual(0);
      const cached = await get('/workspaces');
      expect(cached.headers['x-berth-listing']).toBe('cached');
      expect(cached.headers['x-berth-observed-at']).toBe(live.headers['x-berth-observed-at']);
      expect((await get('/workspaces?fresh=soon')).status).toBe(400);
    });
  });
}
