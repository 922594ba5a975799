import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectCode } from '../support/expect-code.js';
import type { BerthEventInput } from '../../src/events.js';
import type { Runtime } from '../../src/runtime/types.js';
import { Store } from '../../src/state/store.js';
import { WorkspaceManager } from '../../src/workspace/ensure.js';
import { LABELS } from '../../src/workspace/labels.js';
import { containerNameFor } from '../../src/workspace/workspace-id.js';
import { countingRuntime, type EngineCall } from '../support/counting-runtime.js';
import { removeRunImages, TEST_RUN_LABEL } from '../support/test-images.js';
import { waitFor } from '../support/wait-for.js';

export interface WorkspaceTarget {
  runtime: Runtime;
  image: string;
}

/**
 * Workspace behaviour on a real runtime: ensure's single flight, reuse, start, drift, ghosts,
 * ownership and mount rules. Run for podman, docker and host mode.
 */
export function workspaceSuite(label: string, connect: () => Promise<WorkspaceTarget>): void {
  describe(`workspaces: ${label}`, () => {
    const run = randomUUID().slice(0, 8);
    const id = (suffix: string): string => `t-${run}-${suffix}`;
    const owner = randomUUID();
    const scratch = mkdtempSync(join(tmpdir(), 'berth-ws-'));
    const userHome = join(scratch, 'home');
    const berthHome = join(userHome, '.berth');
    const root = join(scratch, 'project');
    mkdirSync(join(userHome, '.ssh'), { recursive: true });
    mkdirSync(berthHome, { recursive: true });
    mkdirSync(root);
    writeFileSync(join(root, 'README'), 'project files\n');
    let runtime: Runtime;
    let image: string;
    let calls: EngineCall[];
    const methods = (): string[] => calls.map((call) => call.method);
    const events: BerthEventInput[] = [];
    let manager: WorkspaceManager;
    let store: Store;
    const created: string[] = [];

    const ensure = (suffix: string, spec: Parameters<WorkspaceManager['ensure']>[1] = {}) => {
      created.push(id(suffix));
      return manager.ensure(id(suffix), { root, image, ...spec });
    };


    beforeAll(async () => {
      const target = await connect();
      ({ runtime, calls } = countingRuntime(target.runtime));
      image = target.image;
      const status = await target.runtime.ensureSystem();
      if (!status.running) throw new Error(`${label} is not usable: ${status.detail}`);
      store = Store.open(':memory:');
      manager = new WorkspaceManager({ runtime, owner, berthHome, userHome, env: {}, store, emit: (e) => events.push(e) });
    });

    afterAll(async () => {
      if (!runtime) return;
      for (const workspace of new Set(created)) await runtime.remove(containerNameFor(workspace), { force: true }).catch(() => undefined);
      rmSync(scratch, { recursive: true, force: true });
    });

    it('shares one create among 50 concurrent ensure() calls on a new workspace', async () => {
      calls.length = 0;
      const results = await Promise.all(Array.from({ length: 50 }, () => ensure('single')));
      expect(methods().filter((c) => c === 'create')).toHaveLength(1);
      expect(new Set(results.map((r) => r.container.id)).size).toBe(1);
      expect(results[0]).toMatchObject({ action: 'created', runtime: runtime.kind });
      const owned = await runtime.list({ labels: { [LABELS.workspace]: id('single'), [LABELS.owner]: owner } });
      expect(owned.map((c) => c.name)).toEqual([containerNameFor(id('single'))]);
    });

    it('records the create in the ledger: intent, then the engine id', async () => {
      const [entry] = store.ledger.activeEntries(runtime.kind).filter((e) => e.workspace === id('single'));
      const info = await runtime.inspect(containerNameFor(id('single')));
      expect(entry).toMatchObject({ kind: 'container', name: containerNameFor(id('single')), resourceId: info.id, removedAt: null });
    });

    it('reuses a running workspace with one engine call', async () => {
      calls.length = 0;
      const result = await ensure('single');
      expect(result.action).toBe('reused');
      expect(methods()).toEqual(['observe']);
    });

    it('gives every exec the workspace env, in /workspace, with the exit code passed through', async () => {
      await ensure('single', { env: { GREETING: 'hello there' } });
      const result = await runtime.exec(containerNameFor(id('single')), ['sh', '-c', 'printf "%s|%s|" "$GREETING" "$BERTH_WORKSPACE"; cat README; exit 42']);
      expect(result).toMatchObject({ exitCode: 42, stdout: `hello there|${id('single')}|project files\n` });
    });

    it('starts a stopped workspace instead of recreating it', async () => {
      const before = await ensure('single', { env: { GREETING: 'hello there' } });
      await manager.stop(id('single'));
      const after = await ensure('single', { env: { GREETING: 'hello there' } });
      expect(after.action).toBe('started');
      expect(after.container.id).toBe(before.container.id);
      expect(after.container.state).toBe('running');
    });

    it('recreates on env drift and on mount drift, and says why', async () => {
      const extra = join(scratch, 'extra');
      mkdirSync(extra);
      const envDrift = await ensure('single', { env: { GREETING: 'changed' } });
      expect(envDrift).toMatchObject({ action: 'recreated', reasons: ['env changed'] });
      const mountDrift = await ensure('single', { env: { GREETING: 'changed' }, mounts: [`${extra}:ro`] });
      expect(mountDrift).toMatchObject({ action: 'recreated', reasons: ['mounts changed'] });
      expect(mountDrift.container.mounts).toContainEqual({ source: extra, target: extra, readOnly: true });
      expect(events.some((e) => e.type === 'workspace.recreated' && e.workspace === id('single') && e.message.includes('mounts changed'))).toBe(true);
    });

    it('applies cpu and memory limits, and recreates when they change', async () => {
      if (!runtime.capabilities.resourceLimits) return;
      // cgroup v2 files first, then v1 (hybrid hosts like CI's).
      const limits = ['sh', '-c', 'cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes; cat /sys/fs/cgroup/cpu.max 2>/dev/null || echo "$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us) $(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us)"'];
      // Apple sizes the VM itself rather than a cgroup inside it; docker and podman use cgroups.
      const enforcedByCgroup = runtime.kind !== 'apple';
      await ensure('limits', { cpus: 1, memory: '256m' });
      expect(await runtime.inspect(containerNameFor(id('limits')))).toMatchObject({ cpus: 1, memoryBytes: 268435456 });
      if (enforcedByCgroup) expect((await runtime.exec(containerNameFor(id('limits')), limits)).stdout).toBe('268435456\n100000 100000\n');
      const changed = await ensure('limits', { cpus: 1, memory: '512m' });
      expect(changed).toMatchObject({ action: 'recreated', reasons: ['resources changed'] });
      expect(await runtime.inspect(containerNameFor(id('limits')))).toMatchObject({ cpus: 1, memoryBytes: 536870912 });
      if (enforcedByCgroup) expect((await runtime.exec(containerNameFor(id('limits')), limits)).stdout).toBe('536870912\n100000 100000\n');
    });

    it('publishes a pool of loopback preview ports, reachable from the host; a new pool size recreates', async () => {
      if (!runtime.capabilities.publishPorts) {
        await expectCode(ensure('preview', { previewPorts: 2 }), 'E_UNSUPPORTED');
        return;
      }
      const first = await ensure('preview', { previewPorts: 2 });
      expect(first.container.ports).toEqual([
        { hostAddress: '127.0.0.1', hostPort: expect.any(Number) as unknown, containerPort: 41000, protocol: 'tcp' },
        { hostAddress: '127.0.0.1', hostPort: expect.any(Number) as unknown, containerPort: 41001, protocol: 'tcp' },
      ]);
      const name = containerNameFor(id('preview'));
      expect((await runtime.inspect(name)).ports).toEqual(expect.arrayContaining(first.container.ports));
      // A real server on the first pool port inside the container answers on its host port.
      await runtime.exec(name, ['sh', '-c', 'cd /tmp && nohup python3 -m http.server 41000 --bind 0.0.0.0 >/dev/null 2>&1 &']);
      const hostPort = first.container.ports[0]?.hostPort ?? 0;
      // docker's port proxy holds a connection open while nothing listens yet: bound every try.
      const status = await waitFor(
        async () => {
          const answer = await fetch(`http://127.0.0.1:${String(hostPort)}/`, { signal: AbortSignal.timeout(1000) });
          if (answer.status !== 200) throw new Error(`status ${String(answer.status)}`);
          return answer.status;
        },
        { timeout: 20_000, interval: 100, message: 'the preview port to answer' },
      );
      expect(status).toBe(200);
      expect(await ensure('preview', { previewPorts: 3 })).toMatchObject({ action: 'recreated', reasons: ['ports changed'] });
    });

    it('recreates when the image is rebuilt under the same tag', async () => {
      if (!runtime.capabilities.images) return;
      const context = mkdtempSync(join(tmpdir(), 'berth-ws-build-'));
      const tag = `berth-ws-drift-${run}:latest`;
      // Both builds carry the run's label: the first is dangling once the second takes the tag,
      // and both go in the finally (the Apple double builds into podman).
      const build = async (version: string): Promise<void> => {
        writeFileSync(join(context, 'Dockerfile'), `FROM ${image}\nRUN echo ${version} > /image-version\n`);
        await runtime.buildImage({ contextDir: context, tag, labels: { [TEST_RUN_LABEL]: run } });
      };
      try {
        await build('one');
        const first = await ensure('image', { image: tag });
        expect(first.action).toBe('created');
        expect(await ensure('image', { image: tag })).toMatchObject({ action: 'reused' });
        await build('two');
        const second = await ensure('image', { image: tag });
        expect(second).toMatchObject({ action: 'recreated', reasons: ['image changed'] });
        expect((await runtime.exec(containerNameFor(id('image')), ['cat', '/image-version'])).stdout).toBe('two\n');
      } finally {
        await runtime.remove(containerNameFor(id('image')), { force: true });
        await removeRunImages(runtime.kind === 'docker' ? 'docker' : 'podman', run);
      }
    });

    it('recovers a ghost: a container that can no longer start is removed and recreated', async () => {
      if (runtime.capabilities.isolation !== 'container') return; // host mode has no container that could fail to start
      const source = join(scratch, 'ghost-source');
      mkdirSync(source);
      const spec = { mounts: [source] };
      const healthy = await ensure('ghost', spec);
      await manager.stop(id('ghost'));
      // The bind source is now a file where a folder was mounted: the engine refuses to start it.
      rmSync(source, { recursive: true });
      writeFileSync(source, 'not a folder any more\n');
      await expectCode(runtime.start(containerNameFor(id('ghost'))), 'E_RUNTIME_FAILED');
      const recovered = await ensure('ghost', spec);
      expect(recovered.action).toBe('recreated');
      expect(recovered.reasons[0]).toMatch(/could not start/);
      // A new container: on Apple the id is the name, so the creation time and the event tell.
      expect(recovered.container.createdAt).not.toBe(healthy.container.createdAt);
      expect(events).toContainEqual(expect.objectContaining({ type: 'workspace.recreated', workspace: id('ghost') }));
      expect(recovered.container.state).toBe('running');
      // The ledger closed the ghost's entry and holds exactly one live one.
      const live = store.ledger.activeEntries(runtime.kind).filter((e) => e.workspace === id('ghost'));
      expect(live.map((e) => e.resourceId)).toEqual([recovered.container.id]);
    });

    it('refuses a container under its name that it does not own, and leaves it alone', async () => {
      const name = containerNameFor(id('foreign'));
      created.push(id('foreign'));
      await runtime.create({ name, image, command: ['tail', '-f', '/dev/null'], labels: { [LABELS.managed]: 'true', [LABELS.owner]: randomUUID() } });
      const error = await expectCode(ensure('foreign'), 'E_CONFLICT');
      expect(error.message).toContain('another Berth installation');
      await expectCode(manager.remove(id('foreign')), 'E_CONFLICT');
      expect((await runtime.inspect(name)).name).toBe(name);
    });

    it('never removes a foreign container that takes the name between observe and create', async () => {
      const name = containerNameFor(id('race'));
      created.push(id('race'));
      await runtime.create({ name, image, command: ['tail', '-f', '/dev/null'], labels: { 'made-by': 'someone-else' } });
      // The race, made deterministic: observe still says "no container", as it did a moment earlier.
      const blind = new Proxy(runtime, {
        get(target, property, receiver) {
          if (property === 'observe') return async (n: string, i: string) => ({ ...(await target.observe(n, i)), container: null });
          return Reflect.get(target, property, receiver) as unknown;
        },
      });
      const racing = new WorkspaceManager({ runtime: blind, owner, berthHome, userHome, env: {}, store, emit: () => undefined });
      await expectCode(racing.ensure(id('race'), { root, image }), 'E_CONFLICT');
      expect((await runtime.inspect(name)).labels).toMatchObject({ 'made-by': 'someone-else' });
      expect(store.ledger.activeEntries(runtime.kind).filter((e) => e.name === name)).toEqual([]);
    });

    it('skips a missing extra mount, reports it, and never creates it', async () => {
      const missing = join(scratch, 'not-there');
      const result = await ensure('skip', { mounts: [missing] });
      expect(result.skippedMounts).toEqual([{ source: missing, reason: 'does not exist (skipped, not created)' }]);
      expect(events).toContainEqual(expect.objectContaining({ type: 'workspace.mount-skipped', workspace: id('skip'), level: 'warn' }));
      expect(result.container.mounts.map((m) => m.target)).not.toContain(missing);
      expect((await runtime.exec(containerNameFor(id('skip')), ['test', '-e', missing])).exitCode).not.toBe(0);
    });

    it('refuses sensitive mounts, through symlinks too, unless explicitly allowed', async () => {
      const link = join(scratch, 'innocent-looking');
      symlinkSync(join(userHome, '.ssh'), link);
      const cases: [string, Parameters<WorkspaceManager['ensure']>[1]][] = [
        ['home as root', { root: userHome }],
        ['~/.ssh', { mounts: [join(userHome, '.ssh')] }],
        ['a symlink to ~/.ssh', { mounts: [link] }],
        ["Berth's home", { mounts: [berthHome] }],
        ['a parent of home', { mounts: [scratch] }],
        ['/', { mounts: ['/'] }],
      ];
      for (const [what, spec] of cases) {
        const error = await expectCode(ensure('sensitive', spec), 'E_INVALID_INPUT');
        expect(error.message, what).toMatch(/^Refusing to mount/);
        expect(error.hint, what).toContain('--allow-sensitive-mount');
      }
      expect(await runtime.observe(containerNameFor(id('sensitive')), image)).toMatchObject({ container: null });
      const allowed = await ensure('sensitive', { mounts: [link], allowSensitiveMounts: true });
      expect(allowed.action).toBe('created');
    });

    it('rejects invalid workspace ids with a clear message', async () => {
      const error = await expectCode(manager.ensure('Bad_ID', { root, image }), 'E_INVALID_INPUT');
      expect(error.message).toBe('Invalid workspace id "Bad_ID".');
    });
  });
}
