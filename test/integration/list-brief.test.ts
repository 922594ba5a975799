import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBerth, type Berth } from '../../src/berth.js';
import { OciRuntime, type OciKind } from '../../src/runtime/oci/oci-runtime.js';
import type { ContainerBrief } from '../../src/runtime/types.js';
import { TEST_IMAGE, engineEnv } from '../support/engines.js';
import { freePort } from '../support/free-port.js';

const brief = (c: ContainerBrief): ContainerBrief => ({ id: c.id, name: c.name, state: c.state, image: c.image, imageId: c.imageId, labels: c.labels, ip: c.ip, ports: c.ports });
const byName = (a: { name: string }, b: { name: string }): number => (a.name < b.name ? -1 : 1);

/**
 * Listings in one cheap call: `listBrief` is one `GET /containers/json` on the engine socket (podman
 * through its docker-compatible endpoint), never a CLI process or an inspect per container, and says
 * what the CLI's list (`ps` + `inspect`) says of the same containers.
 */
describe.each<OciKind>(['podman', 'docker'])('%s: the one-call list', (kind) => {
  const env = engineEnv();
  const api = new OciRuntime(kind, { env });
  const cli = new OciRuntime(kind, { env, apiSocket: null });
  const token = randomUUID().slice(0, 8);
  const names = [`berth-brief-a-${token}`, `berth-brief-b-${token}`, `brief-c-${token}`];
  const scratch = mkdtempSync(join(tmpdir(), `berth-brief-${kind}-`));
  const home = join(scratch, 'home');
  const root = join(scratch, 'root');
  const ids = [`brief-ws1-${token}`, `brief-ws2-${token}`];
  let berth: Berth | undefined;
  let berthCli: Berth | undefined;

  beforeAll(async () => {
    mkdirSync(root);
    // One running with a published loopback port, one stopped, one outside the `berth-` prefix.
    await cli.create({ name: names[0] ?? '', image: TEST_IMAGE, command: ['tail', '-f', '/dev/null'], init: true, labels: { 'dev.berth.test': token, role: 'a' }, ports: [{ hostAddress: '127.0.0.1', hostPort: await freePort(), containerPort: 8080, protocol: 'tcp' }] }, { start: true });
    await cli.create({ name: names[1] ?? '', image: TEST_IMAGE, command: ['true'], labels: { 'dev.berth.test': token } });
    await cli.create({ name: names[2] ?? '', image: TEST_IMAGE, command: ['true'], labels: { 'dev.berth.test': token } });
    const opened = await createBerth({ home, runtime: kind, env });
    berth = opened;
    // The same home, the engine's socket off: every engine call is a CLI process.
    berthCli = await createBerth({ home, runtime: kind, env: { ...env, [`BERTH_${kind.toUpperCase()}_API`]: 'off' } });
    for (const id of ids) await opened.up(id, { root, image: TEST_IMAGE });
    await opened.stop(ids[1] ?? '');
  }, 180_000);

  afterAll(async () => {
    for (const id of ids) await berth?.remove(id).catch(() => undefined);
    await berth?.close();
    await berthCli?.close();
    for (const name of names) await cli.remove(name, { force: true }).catch(() => undefined);
    rmSync(scratch, { recursive: true, force: true });
  });

  it('answers what the CLI list answers, by labels and by name prefix', async () => {
    const filter = { labels: { 'dev.berth.test': token } };
    const viaApi = (await api.listBrief(filter)).sort(byName);
    expect(viaApi.map((c) => c.name)).toEqual([...names].sort());
    expect(viaApi).toEqual((await cli.list(filter)).map(brief).sort(byName));
    const published = viaApi.find((c) => c.name === names[0]);
    expect(published?.state).toBe('running');
    expect(published?.ports).toEqual([expect.objectContaining({ hostAddress: '127.0.0.1', containerPort: 8080, protocol: 'tcp' })]);
    expect(published?.ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    const prefixed = { labels: { 'dev.berth.test': token }, namePrefix: 'berth-brief-' };
    expect((await api.listBrief(prefixed)).sort(byName)).toEqual((await cli.list(prefixed)).map(brief).sort(byName));
  });

  it('an image inspect (the listing\'s drift check) answers over the socket what the CLI answers, a missing image included', async () => {
    expect(await api.imageInspect(TEST_IMAGE)).toEqual(await cli.imageInspect(TEST_IMAGE));
    const missing = (r: OciRuntime) => r.imageInspect('berth-no-such-image:never').then(() => null, (e: unknown) => (e as { code?: string }).code);
    expect(await missing(api)).toBe('E_NOT_FOUND');
    expect(await missing(cli)).toBe('E_NOT_FOUND');
  });

  it('is one API call: it answers with no engine CLI at all', async () => {
    // A binary that does not exist: any CLI call would fail.
    const apiOnly = new OciRuntime(kind, { env, binary: join(scratch, 'no-such-engine'), apiSocket: await api.apiSocket() });
    const listed = await apiOnly.listBrief({ labels: { 'dev.berth.test': token } });
    await apiOnly.imageInspect(TEST_IMAGE);
    expect(listed.map((c) => c.name).sort()).toEqual([...names].sort());
    // And without a socket it is the CLI's list.
    expect((await cli.listBrief({ labels: { 'dev.berth.test': token } })).map(brief).sort(byName)).toEqual(listed.sort(byName));
  });

  it('`berth ls` / GET /workspaces records: the API path gives the same records as the CLI path', async () => {
    if (!berth || !berthCli) throw new Error('beforeAll did not open Berth');
    const listed = await berth.list();
    expect(listed.filter((w) => ids.includes(w.id)).map((w) => [w.id, w.state])).toEqual([
      [ids[0], 'running'],
      [ids[1], 'stopped'],
    ]);
    // observedAt says when each path looked: the records must agree on everything else.
    const records = (list: typeof listed) => list.map(({ observedAt: _observedAt, ...record }) => record);
    expect(records(listed)).toEqual(records(await berthCli.list()));
  });
});
