import { createServer } from 'node:net';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readDevcontainer } from '../../src/devcontainer/read.js';
import { resolveFeatures } from '../../src/devcontainer/features/resolve.js';
import { devcontainerDrift, planDevcontainer } from '../../src/workspace/devcontainer-up.js';

/**
 * A listing's drift check of a devcontainer.json with features (status, ls): local features are
 * hashed, OCI features come from the cache only. One the cache does not have is `unknown`, at
 * once: no connection is even attempted (a listener on loopback counts them).
 */
const scratch = mkdtempSync(join(tmpdir(), 'berth-dc-drift-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function project(name: string, features: Record<string, unknown>): string {
  const root = join(scratch, name);
  mkdirSync(join(root, '.devcontainer/greet'), { recursive: true });
  writeFileSync(join(root, '.devcontainer/greet/devcontainer-feature.json'), JSON.stringify({ id: 'greet', options: { greeting: { type: 'string', default: 'hello' } } }));
  writeFileSync(join(root, '.devcontainer/greet/install.sh'), '#!/bin/sh\n');
  writeFileSync(join(root, '.devcontainer/devcontainer.json'), JSON.stringify({ image: 'img:1', features }));
  return root;
}

async function originOf(root: string) {
  const read = readDevcontainer({ workspaceFolder: root });
  const features = await resolveFeatures(read, { cacheDir: join(scratch, 'cache'), writeLockfile: false, offline: true });
  const origin = planDevcontainer(read, { root: read.localWorkspaceFolder, features }).input.devcontainer;
  if (!origin) throw new Error('no origin');
  return origin;
}

describe('devcontainerDrift with features, offline', () => {
  it('a local feature: unchanged is no drift; an option or a file of the feature is drift, naming the features', async () => {
    const root = project('local', { './greet': { greeting: 'hej' } });
    const origin = await originOf(root);
    const cache = { featureCacheDir: join(scratch, 'cache') };
    expect(await devcontainerDrift(origin, root, cache)).toBeNull();
    writeFileSync(join(root, '.devcontainer/devcontainer.json'), JSON.stringify({ image: 'img:1', features: { './greet': { greeting: 'hallo' } } }));
    expect(await devcontainerDrift(origin, root, cache)).toEqual({ kind: 'drifted', reason: expect.stringContaining('the features of') as unknown });
    writeFileSync(join(root, '.devcontainer/devcontainer.json'), JSON.stringify({ image: 'img:1', features: { './greet': { greeting: 'hej' } } }));
    writeFileSync(join(root, '.devcontainer/greet/install.sh'), '#!/bin/sh\necho changed\n');
    expect((await devcontainerDrift(origin, root, cache))?.kind).toBe('drifted');
  });

  it('an OCI feature not in the cache: unknown, without a connection to its registry', async () => {
    let connections = 0;
    const registry = createServer((socket) => {
      connections += 1;
      socket.destroy();
    });
    await new Promise<void>((resolve) => registry.listen(0, '127.0.0.1', resolve));
    const port = (registry.address() as { port: number }).port;
    try {
      const root = project('oci', { './greet': {} });
      const origin = await originOf(root);
      writeFileSync(join(root, '.devcontainer/devcontainer.json'), JSON.stringify({ image: 'img:1', features: { './greet': {}, [`127.0.0.1:${String(port)}/berth/features/x:1`]: {} } }));
      const started = Date.now();
      const drift = await devcontainerDrift(origin, root, { featureCacheDir: join(scratch, 'cache') });
      expect(drift?.kind).toBe('unknown');
      expect(drift?.reason).toContain(`127.0.0.1:${String(port)}/berth/features/x:1 is not in the feature cache`);
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(connections).toBe(0);
      // Without a cache to look in, it cannot tell either.
      expect((await devcontainerDrift(origin, root))?.kind).toBe('unknown');
    } finally {
      registry.close();
    }
  });
});
