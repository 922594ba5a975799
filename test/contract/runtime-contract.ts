import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectCode } from '../support/expect-code.js';
import type { ContainerSpec, Runtime } from '../../src/runtime/types.js';

export interface ContractTarget {
  runtime: Runtime;
  /** An image the runtime holds (ignored by host mode). */
  image: string;
}

/**
 * The one suite every adapter must pass, run for real: podman, docker and host mode now, the Apple
 * `container` double later. Capability flags decide what a runtime is asked; nothing is skipped
 * because an engine is missing: a missing engine fails the suite's setup.
 */
export function runtimeContract(label: string, connect: () => Promise<ContractTarget>): void {
  describe(`runtime contract: ${label}`, () => {
    const run = randomUUID().slice(0, 8);
    const name = (suffix: string): string => `berth-ct-${run}-${suffix}`;
    const runLabel = { 'dev.berth.test-run': run };
    let runtime: Runtime;
    let image: string;
    const root = mkdtempSync(join(tmpdir(), 'berth-contract-root-'));
    const extra = mkdtempSync(join(tmpdir(), 'berth-contract-extra-'));
    writeFileSync(join(root, 'hello.txt'), 'from the host\n');
    writeFileSync(join(extra, 'shared.txt'), 'read only\n');

    const spec = (suffix: string, overrides: Partial<ContainerSpec> = {}): ContainerSpec => ({
      name: name(suffix),
      image,
      command: ['sh', '-c', 'echo started; exec sleep infinity'],
      init: true,
      labels: { ...runLabel, 'dev.berth.role': suffix },
      mounts: [
        { source: root, target: '/workspace', readOnly: false },
        { source: extra, target: extra, readOnly: true },
      ],
      env: { BERTH_SPEC_VAR: 'from spec' },
      workdir: '/workspace',
      ...overrides,
    });


    beforeAll(async () => {
      ({ runtime, image } = await connect());
      const status = await runtime.ensureSystem();
      if (!status.running) throw new Error(`${label} is not usable: ${status.detail}`);
    });

    afterAll(async () => {
      if (!runtime) return;
      for (const container of await runtime.list({ labels: runLabel })) {
        await runtime.remove(container.name, { force: true });
      }
    });

    it('reports info and capabilities', async () => {
      const info = await runtime.info();
      expect(info.kind).toBe(runtime.kind);
      expect(info.version).toMatch(/\d+\.\d+/);
      expect(typeof runtime.capabilities.isolation).toBe('boolean');
    });

    it('creates with labels, mounts and env, and inspects them back', async () => {
      const id = await runtime.create(spec('main'));
      expect(id).not.toBe('');
      const info = await runtime.inspect(name('main'));
      expect(info).toMatchObject({ name: name('main'), state: 'created', ip: null });
      expect(info.labels).toMatchObject({ ...runLabel, 'dev.berth.role': 'main' });
      expect(info.mounts).toEqual(
        expect.arrayContaining([
          { source: root, target: '/workspace', readOnly: false },
          { source: extra, target: extra, readOnly: true },
        ]),
      );
      if (runtime.capabilities.images) expect(info.imageId).toMatch(/^[0-9a-f]{12,}$/);
    });

    it('observes container and image together; missing ones are null, not errors', async () => {
      const both = await runtime.observe(name('main'), image);
      expect(both.container?.name).toBe(name('main'));
      if (runtime.capabilities.images) {
        expect(both.image?.id).toBe(both.container?.imageId);
      } else {
        expect(both.image).toBeNull();
      }
      const neither = await runtime.observe(name('absent'), `berth-missing-${run}:latest`);
      expect(neither).toEqual({ container: null, image: null });
    });

    it('refuses a second container with the same name as a typed conflict, leaving the first alone', async () => {
      const error = await expectCode(runtime.create(spec('main', { labels: { ...runLabel, intruder: 'yes' } })), 'E_CONFLICT');
      expect(error.message).toContain(name('main'));
      expect((await runtime.inspect(name('main'))).labels).not.toHaveProperty('intruder');
    });

    it('lists only the containers whose labels match', async () => {
      await runtime.create(spec('other'));
      const all = await runtime.list({ labels: runLabel });
      expect(all.map((c) => c.name).sort()).toEqual([name('main'), name('other')].sort());
      const one = await runtime.list({ labels: { ...runLabel, 'dev.berth.role': 'other' } });
      expect(one.map((c) => c.name)).toEqual([name('other')]);
      expect(await runtime.list({ labels: { ...runLabel, 'dev.berth.role': 'nobody' } })).toEqual([]);
      const present = await runtime.list({ labels: { 'dev.berth.test-run': true, 'dev.berth.role': 'other' } });
      expect(present.map((c) => c.name)).toContain(name('other'));
    });

    it('lists by name prefix: anchored at the start, combined with labels', async () => {
      expect((await runtime.list({ namePrefix: name('') })).map((c) => c.name).sort()).toEqual([name('main'), name('other')].sort());
      expect((await runtime.list({ namePrefix: name('oth'), labels: runLabel })).map((c) => c.name)).toEqual([name('other')]);
      // The run token is inside both names, never at their start.
      expect(await runtime.list({ namePrefix: run })).toEqual([]);
      expect(await runtime.list({ namePrefix: name('main'), labels: { 'dev.berth.role': 'other' } })).toEqual([]);
    });

    it('starts, and inspect shows it running (with an IP where the runtime has one)', async () => {
      await runtime.start(name('main'));
      const info = await runtime.inspect(name('main'));
      expect(info.state).toBe('running');
      if (runtime.capabilities.containerIp) expect(info.ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      else expect(info.ip).toBeNull();
      const [listed] = await runtime.list({ labels: { ...runLabel, 'dev.berth.role': 'main' } });
      expect(listed).toMatchObject({ name: name('main'), state: 'running', ip: info.ip });
    });

    it('execs with the spec env, per-call env, and the exit code passed through', async () => {
      const result = await runtime.exec(name('main'), ['sh', '-c', 'printf "%s|%s" "$BERTH_SPEC_VAR" "$CALL_VAR"; exit 3'], {
        env: { CALL_VAR: 'per call; with $(spaces)' },
      });
      expect(result).toMatchObject({ exitCode: 3, stdout: 'from spec|per call; with $(spaces)' });
    });

    it("passes env the engine CLI itself reads (PATH, HOME) to the command without breaking the CLI", async () => {
      const result = await runtime.exec(name('main'), ['sh', '-c', 'printf "%s|%s" "$PATH" "$HOME"'], {
        env: { PATH: '/opt/berth-test/bin:/usr/bin:/bin', HOME: '/tmp/berth-home' },
      });
      expect(result).toMatchObject({ exitCode: 0, stdout: '/opt/berth-test/bin:/usr/bin:/bin|/tmp/berth-home' });
    });

    it('execs in /workspace, which is the host folder', async () => {
      const result = await runtime.exec(name('main'), ['cat', 'hello.txt']);
      expect(result).toMatchObject({ exitCode: 0, stdout: 'from the host\n' });
    });

    it('passes hostile arguments verbatim (no shell anywhere on the way)', async () => {
      const hostile = ['; rm -rf /workspace', '$(touch /workspace/pwned)', '`id`', "it's", '"q"', '*', ''];
      const result = await runtime.exec(name('main'), ['printf', '%s|', ...hostile]);
      expect(result.stdout).toBe(`${hostile.join('|')}|`);
      expect(readFileSync(join(root, 'hello.txt'), 'utf8')).toBe('from the host\n');
      expect((await runtime.exec(name('main'), ['ls'])).stdout).not.toContain('pwned');
    });

    it('feeds stdin', async () => {
      const result = await runtime.exec(name('main'), ['sh', '-c', 'tr a-z A-Z'], { input: 'hello stdin\n' });
      expect(result).toMatchObject({ exitCode: 0, stdout: 'HELLO STDIN\n' });
    });

    it('mounts read-only extras read-only where the runtime isolates', async () => {
      const read = await runtime.exec(name('main'), ['cat', join(extra, 'shared.txt')]);
      expect(read.stdout).toBe('read only\n');
      if ((await runtime.inspect(name('main'))).labels['berth.isolation'] === 'none') return; // unconfined host mode
      const write = await runtime.exec(name('main'), ['sh', '-c', `echo x > ${join(extra, 'new.txt')}`]);
      expect(write.exitCode).not.toBe(0);
      expect(write.stderr).toMatch(/Read-only file system/i);
    });

    it('copies files and folders in and out', async () => {
      const scratch = mkdtempSync(join(tmpdir(), 'berth-contract-cp-'));
      mkdirSync(join(scratch, 'folder'));
      writeFileSync(join(scratch, 'folder', 'a.txt'), 'alpha\n');
      writeFileSync(join(scratch, 'single.txt'), 'single\n');
      const inside = `/tmp/berth-cp-${run}`;
      await runtime.exec(name('main'), ['mkdir', '-p', inside]);
      await runtime.copyIn(name('main'), join(scratch, 'single.txt'), `${inside}/single.txt`);
      await runtime.copyIn(name('main'), join(scratch, 'folder'), inside);
      expect((await runtime.exec(name('main'), ['cat', `${inside}/single.txt`, `${inside}/folder/a.txt`])).stdout).toBe('single\nalpha\n');
      const out = mkdtempSync(join(tmpdir(), 'berth-contract-out-'));
      await runtime.copyOut(name('main'), `${inside}/folder`, out);
      await runtime.copyOut(name('main'), `${inside}/single.txt`, join(out, 'renamed.txt'));
      expect(readFileSync(join(out, 'folder', 'a.txt'), 'utf8')).toBe('alpha\n');
      expect(readFileSync(join(out, 'renamed.txt'), 'utf8')).toBe('single\n');
      await runtime.exec(name('main'), ['rm', '-rf', inside]);
    });

    it('returns logs of the main process', async () => {
      const logs = await runtime.logs(name('main'));
      if (runtime.kind === 'host') expect(logs.stdout).toBe('');
      else expect(logs.stdout).toContain('started');
    });

    it('creates and starts in one call', async () => {
      const id = await runtime.create(spec('oneshot'), { start: true });
      const info = await runtime.inspect(name('oneshot'));
      expect(info).toMatchObject({ id, state: 'running' });
      await runtime.remove(name('oneshot'), { force: true });
    });

    it('stops within the grace period, even when the process ignores TERM', async () => {
      await runtime.create(
        spec('stubborn', { command: ['sh', '-c', 'trap "" TERM; echo started; while :; do sleep 1; done'] }),
      );
      await runtime.start(name('stubborn'));
      const started = Date.now();
      await runtime.stop(name('stubborn'), { graceSeconds: 1 });
      expect(Date.now() - started).toBeLessThan(8000);
      expect((await runtime.inspect(name('stubborn'))).state).toBe('stopped');
    });

    it('stops promptly, idempotently, and refuses exec while stopped', async () => {
      const started = Date.now();
      await runtime.stop(name('main'), { graceSeconds: 10 });
      // With an init as PID 1 the TERM is honoured at once instead of waiting out the grace.
      expect(Date.now() - started).toBeLessThan(5000);
      expect((await runtime.inspect(name('main'))).state).toBe('stopped');
      await runtime.stop(name('main'));
      await expectCode(runtime.exec(name('main'), ['true']), 'E_NOT_RUNNING');
    });

    it('restarts a stopped container', async () => {
      await runtime.start(name('main'));
      expect((await runtime.inspect(name('main'))).state).toBe('running');
      expect((await runtime.exec(name('main'), ['cat', 'hello.txt'])).exitCode).toBe(0);
    });

    it('refuses to remove a running container without force, then removes it with force', async () => {
      await expectCode(runtime.remove(name('main')), 'E_CONFLICT');
      await runtime.remove(name('main'), { force: true });
      await expectCode(runtime.inspect(name('main')), 'E_NOT_FOUND');
      expect((await runtime.list({ labels: runLabel })).map((c) => c.name)).not.toContain(name('main'));
    });

    it('reports a missing container as a typed not-found error from every operation', async () => {
      const missing = name('missing');
      const operations: [string, () => Promise<unknown>][] = [
        ['inspect', () => runtime.inspect(missing)],
        ['start', () => runtime.start(missing)],
        ['stop', () => runtime.stop(missing)],
        ['remove', () => runtime.remove(missing)],
        ['exec', () => runtime.exec(missing, ['true'])],
        ['copyOut', () => runtime.copyOut(missing, '/etc/hostname', join(tmpdir(), `berth-${run}-x`))],
        ['logs', () => runtime.logs(missing)],
      ];
      for (const [operation, call] of operations) {
        const error = await expectCode(call(), 'E_NOT_FOUND').catch((e: unknown) => {
          throw new Error(`${operation}: ${String(e)}`);
        });
        expect(error.message, operation).toContain(missing);
      }
    });

    it('removes with force idempotently: a missing container is already gone', async () => {
      await runtime.remove(name('missing'), { force: true });
    });

    it('rejects invalid names before calling the engine', async () => {
      await expectCode(runtime.create(spec('x', { name: 'bad name!' })), 'E_INVALID_INPUT');
      await expectCode(runtime.create(spec('x', { env: { 'BAD-NAME': '1' } })), 'E_INVALID_INPUT');
    });

    it('inspects images, and reports a missing one as not found (never pulling it)', async () => {
      if (!runtime.capabilities.images) {
        await expectCode(runtime.imageInspect(image), 'E_UNSUPPORTED');
        return;
      }
      const info = await runtime.imageInspect(image);
      expect(info.id).toMatch(/^[0-9a-f]{12,}$/);
      await expectCode(runtime.imageInspect(`berth-missing-${run}:latest`), 'E_NOT_FOUND');
      await expectCode(runtime.create(spec('noimage', { image: `berth-missing-${run}:latest` })), 'E_NOT_FOUND');
    });

    it('builds an image from a Dockerfile and runs it', async () => {
      if (!runtime.capabilities.images) {
        await expectCode(runtime.buildImage({ contextDir: root, tag: 'x' }), 'E_UNSUPPORTED');
        return;
      }
      const context = mkdtempSync(join(tmpdir(), 'berth-contract-build-'));
      writeFileSync(join(context, 'Dockerfile'), `FROM ${image}\nRUN echo built-by-berth > /built.txt\n`);
      const tag = 'berth-contract-build:latest';
      const built = await runtime.buildImage({ contextDir: context, tag, labels: { ...runLabel } });
      expect(built.labels).toMatchObject(runLabel);
      await runtime.create(spec('built', { image: tag }));
      await runtime.start(name('built'));
      expect((await runtime.exec(name('built'), ['cat', '/built.txt'])).stdout).toBe('built-by-berth\n');
      await runtime.remove(name('built'), { force: true });
    });

    it('ensures an internal network once, and finds it again', async () => {
      const network = `berth-ct-${run}-net`;
      if (!runtime.capabilities.internalNetworks) {
        await expectCode(runtime.networkEnsure({ name: network, internal: true }), 'E_UNSUPPORTED');
        return;
      }
      const first = await runtime.networkEnsure({ name: network, internal: true, labels: runLabel });
      const again = await runtime.networkEnsure({ name: network, internal: true, labels: runLabel });
      expect(again.id).toBe(first.id);
      expect(first).toMatchObject({ name: network, internal: true, labels: runLabel });
      expect(first.subnet).toMatch(/^\d+\.\d+\.\d+\.\d+\/\d+$/);
      await runtime.networkRemove(network);
      await expectCode(runtime.networkRemove(network), 'E_NOT_FOUND');
    });
  });
}
