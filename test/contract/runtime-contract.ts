import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { expectCode } from '../support/expect-code.js';
import { TEST_RUN_LABEL, removeRunImages } from '../support/test-images.js';
import type { OciKind } from '../../src/runtime/oci/oci-runtime.js';
import type { ContainerSpec, CreateOptions, Runtime } from '../../src/runtime/types.js';

export interface ContractTarget {
  runtime: Runtime;
  /** An image the runtime holds (ignored by host mode). */
  image: string;
  /** The engine whose store the images this runtime builds land in (the Apple double builds into podman); none for host mode. */
  imageStore?: OciKind;
}

/**
 * The one suite every adapter must pass, run for real: podman, docker, host mode and the Apple
 * `container` double. Capability flags decide what a runtime is asked; nothing is skipped
 * because an engine is missing: a missing engine fails the suite's setup.
 *
 * Every test makes the containers it needs (`fresh`, `running`) and they are removed after it, so
 * any test runs alone (`-t`) or in any order. Tests that only read or exec share one running
 * container (`execTarget`), made by whichever of them runs first. Images the suite builds carry
 * the run's label and are removed, dangling rebuilds included, after the suite.
 */
export function runtimeContract(label: string, connect: () => Promise<ContractTarget>): void {
  describe(`runtime contract: ${label}`, () => {
    const run = randomUUID().slice(0, 8);
    const runLabel = { [TEST_RUN_LABEL]: run };
    let runtime: Runtime;
    let image: string;
    let imageStore: OciKind | undefined;
    /** This test's number: in its containers' names and in their dev.berth.test-case label. */
    let testCase = 0;
    const caseLabel = (): Record<string, string> => ({ ...runLabel, 'dev.berth.test-case': String(testCase) });
    const name = (role: string): string => `berth-ct-${run}-${String(testCase)}-${role}`;
    /** Containers the running test made; removed after it, whatever happened. */
    const made: string[] = [];
    const root = mkdtempSync(join(tmpdir(), 'berth-contract-root-'));
    const extra = mkdtempSync(join(tmpdir(), 'berth-contract-extra-'));
    writeFileSync(join(root, 'hello.txt'), 'from the host\n');
    writeFileSync(join(extra, 'shared.txt'), 'read only\n');

    const spec = (role: string, overrides: Partial<ContainerSpec> = {}): ContainerSpec => ({
      name: name(role),
      image,
      command: ['sh', '-c', 'echo started; exec sleep infinity'],
      init: true,
      labels: { ...caseLabel(), 'dev.berth.role': role },
      mounts: [
        { source: root, target: '/workspace', readOnly: false },
        { source: extra, target: extra, readOnly: true },
      ],
      env: { BERTH_SPEC_VAR: 'from spec' },
      workdir: '/workspace',
      ...overrides,
    });


    /** A container of this test's own, created (not started) from spec(role, overrides). */
    const fresh = async (role: string, overrides: Partial<ContainerSpec> = {}, options?: CreateOptions): Promise<string> => {
      made.push(name(role));
      await runtime.create(spec(role, overrides), options);
      return name(role);
    };
    const running = async (role: string): Promise<string> => {
      const container = await fresh(role);
      await runtime.start(container);
      return container;
    };

    /** The running container the read-and-exec tests share; they never stop, remove or change it. */
    let sharedTarget: Promise<string> | undefined;
    const execTarget = (): Promise<string> => {
      sharedTarget ??= (async () => {
        const container = `berth-ct-${run}-exec-target`;
        await runtime.create({ ...spec('exec-target'), name: container, labels: { ...runLabel, 'dev.berth.role': 'exec-target' } });
        await runtime.start(container);
        return container;
      })();
      return sharedTarget;
    };

    beforeAll(async () => {
      ({ runtime, image, imageStore } = await connect());
      const status = await runtime.ensureSystem();
      if (!status.running) throw new Error(`${label} is not usable: ${status.detail}`);
    });

    beforeEach(() => {
      testCase += 1;
    });

    afterEach(async () => {
      for (const container of made.splice(0)) await runtime.remove(container, { force: true });
    });

    afterAll(async () => {
      if (!runtime) return;
      for (const container of await runtime.list({ labels: runLabel })) {
        await runtime.remove(container.name, { force: true });
      }
      if (imageStore) await removeRunImages(imageStore, run);
    });

    it('reports info and capabilities', async () => {
      const info = await runtime.info();
      expect(info.kind).toBe(runtime.kind);
      expect(info.version).toMatch(/\d+\.\d+/);
      // Containers confine by themselves; host mode says whether this machine can sandbox it.
      expect(runtime.kind === 'host' ? ['sandbox', 'none'] : ['container']).toContain(runtime.capabilities.isolation);
    });

    it('creates with labels, mounts and env, and inspects them back', async () => {
      made.push(name('main'));
      const id = await runtime.create(spec('main'));
      expect(id).not.toBe('');
      const info = await runtime.inspect(name('main'));
      expect(info).toMatchObject({ name: name('main'), state: 'created', ip: null });
      expect(info.labels).toMatchObject({ ...caseLabel(), 'dev.berth.role': 'main' });
      expect(info.mounts).toEqual(
        expect.arrayContaining([
          { source: root, target: '/workspace', readOnly: false },
          { source: extra, target: extra, readOnly: true },
        ]),
      );
      if (runtime.capabilities.images) expect(info.imageId).toMatch(/^[0-9a-f]{12,}$/);
    });

    it('observes container and image together; missing ones are null, not errors', async () => {
      await fresh('main');
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
      await fresh('main');
      const error = await expectCode(runtime.create(spec('main', { labels: { ...runLabel, intruder: 'yes' } })), 'E_CONFLICT');
      expect(error.message).toContain(name('main'));
      expect((await runtime.inspect(name('main'))).labels).not.toHaveProperty('intruder');
    });

    it('lists only the containers whose labels match', async () => {
      await fresh('main');
      await fresh('other');
      const all = await runtime.list({ labels: caseLabel() });
      expect(all.map((c) => c.name).sort()).toEqual([name('main'), name('other')].sort());
      const one = await runtime.list({ labels: { ...caseLabel(), 'dev.berth.role': 'other' } });
      expect(one.map((c) => c.name)).toEqual([name('other')]);
      expect(await runtime.list({ labels: { ...caseLabel(), 'dev.berth.role': 'nobody' } })).toEqual([]);
      const present = await runtime.list({ labels: { [TEST_RUN_LABEL]: true, 'dev.berth.role': 'other' } });
      expect(present.map((c) => c.name)).toContain(name('other'));
    });

    it('lists by name prefix: anchored at the start, combined with labels', async () => {
      await fresh('main');
      await fresh('other');
      expect((await runtime.list({ namePrefix: name('') })).map((c) => c.name).sort()).toEqual([name('main'), name('other')].sort());
      expect((await runtime.list({ namePrefix: name('oth'), labels: caseLabel() })).map((c) => c.name)).toEqual([name('other')]);
      // The run token is inside both names, never at their start.
      expect(await runtime.list({ namePrefix: run })).toEqual([]);
      expect(await runtime.list({ namePrefix: name('main'), labels: { 'dev.berth.role': 'other' } })).toEqual([]);
    });

    it('starts, and inspect shows it running (with an IP where the runtime has one)', async () => {
      await fresh('main');
      await runtime.start(name('main'));
      const info = await runtime.inspect(name('main'));
      expect(info.state).toBe('running');
      if (runtime.capabilities.containerIp) expect(info.ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      else expect(info.ip).toBeNull();
      const [listed] = await runtime.list({ labels: { ...caseLabel(), 'dev.berth.role': 'main' } });
      expect(listed).toMatchObject({ name: name('main'), state: 'running', ip: info.ip });
    });

    it('execs with the spec env, per-call env, and the exit code passed through', async () => {
      const target = await execTarget();
      const result = await runtime.exec(target, ['sh', '-c', 'printf "%s|%s" "$BERTH_SPEC_VAR" "$CALL_VAR"; exit 3'], {
        env: { CALL_VAR: 'per call; with $(spaces)' },
      });
      expect(result).toMatchObject({ exitCode: 3, stdout: 'from spec|per call; with $(spaces)' });
    });

    it("passes env the engine CLI itself reads (PATH, HOME) to the command without breaking the CLI", async () => {
      const target = await execTarget();
      const result = await runtime.exec(target, ['sh', '-c', 'printf "%s|%s" "$PATH" "$HOME"'], {
        env: { PATH: '/opt/berth-test/bin:/usr/bin:/bin', HOME: '/tmp/berth-home' },
      });
      expect(result).toMatchObject({ exitCode: 0, stdout: '/opt/berth-test/bin:/usr/bin:/bin|/tmp/berth-home' });
    });

    it('execs in /workspace, which is the host folder', async () => {
      const target = await execTarget();
      const result = await runtime.exec(target, ['cat', 'hello.txt']);
      expect(result).toMatchObject({ exitCode: 0, stdout: 'from the host\n' });
    });

    it('passes hostile arguments verbatim (no shell anywhere on the way)', async () => {
      const target = await execTarget();
      const hostile = ['; rm -rf /workspace', '$(touch /workspace/pwned)', '`id`', "it's", '"q"', '*', ''];
      const result = await runtime.exec(target, ['printf', '%s|', ...hostile]);
      expect(result.stdout).toBe(`${hostile.join('|')}|`);
      expect(readFileSync(join(root, 'hello.txt'), 'utf8')).toBe('from the host\n');
      expect((await runtime.exec(target, ['ls'])).stdout).not.toContain('pwned');
    });

    it('feeds stdin', async () => {
      const target = await execTarget();
      const result = await runtime.exec(target, ['sh', '-c', 'tr a-z A-Z'], { input: 'hello stdin\n' });
      expect(result).toMatchObject({ exitCode: 0, stdout: 'HELLO STDIN\n' });
    });

    it('mounts read-only extras read-only where the runtime isolates', async () => {
      const target = await execTarget();
      const read = await runtime.exec(target, ['cat', join(extra, 'shared.txt')]);
      expect(read.stdout).toBe('read only\n');
      if ((await runtime.inspect(target)).labels['berth.isolation'] === 'none') return; // unconfined host mode
      const write = await runtime.exec(target, ['sh', '-c', `echo x > ${join(extra, 'new.txt')}`]);
      expect(write.exitCode).not.toBe(0);
      expect(write.stderr).toMatch(/Read-only file system/i);
    });

    it('copies files and folders in and out', async () => {
      const target = await execTarget();
      const scratch = mkdtempSync(join(tmpdir(), 'berth-contract-cp-'));
      mkdirSync(join(scratch, 'folder'));
      writeFileSync(join(scratch, 'folder', 'a.txt'), 'alpha\n');
      writeFileSync(join(scratch, 'single.txt'), 'single\n');
      const inside = `/tmp/berth-cp-${run}-${String(testCase)}`;
      await runtime.exec(target, ['mkdir', '-p', inside]);
      await runtime.copyIn(target, join(scratch, 'single.txt'), `${inside}/single.txt`);
      await runtime.copyIn(target, join(scratch, 'folder'), inside);
      expect((await runtime.exec(target, ['cat', `${inside}/single.txt`, `${inside}/folder/a.txt`])).stdout).toBe('single\nalpha\n');
      const out = mkdtempSync(join(tmpdir(), 'berth-contract-out-'));
      await runtime.copyOut(target, `${inside}/folder`, out);
      await runtime.copyOut(target, `${inside}/single.txt`, join(out, 'renamed.txt'));
      expect(readFileSync(join(out, 'folder', 'a.txt'), 'utf8')).toBe('alpha\n');
      expect(readFileSync(join(out, 'renamed.txt'), 'utf8')).toBe('single\n');
      await runtime.exec(target, ['rm', '-rf', inside]);
    });

    it('returns logs of the main process', async () => {
      const target = await execTarget();
      const logs = await runtime.logs(target);
      if (runtime.kind === 'host') expect(logs.stdout).toBe('');
      else expect(logs.stdout).toContain('started');
    });

    it('creates and starts in one call', async () => {
      made.push(name('oneshot'));
      const id = await runtime.create(spec('oneshot'), { start: true });
      const info = await runtime.inspect(name('oneshot'));
      expect(info).toMatchObject({ id, state: 'running' });
    });

    it('stops within the grace period, even when the process ignores TERM', async () => {
      await fresh('stubborn', { command: ['sh', '-c', 'trap "" TERM; echo started; while :; do sleep 1; done'] });
      await runtime.start(name('stubborn'));
      const started = Date.now();
      await runtime.stop(name('stubborn'), { graceSeconds: 1 });
      expect(Date.now() - started).toBeLessThan(8000);
      expect((await runtime.inspect(name('stubborn'))).state).toBe('stopped');
    });

    it('stops promptly, idempotently, and refuses exec while stopped', async () => {
      await running('main');
      const started = Date.now();
      await runtime.stop(name('main'), { graceSeconds: 10 });
      // With an init as PID 1 the TERM is honoured at once instead of waiting out the grace.
      expect(Date.now() - started).toBeLessThan(5000);
      expect((await runtime.inspect(name('main'))).state).toBe('stopped');
      await runtime.stop(name('main'));
      await expectCode(runtime.exec(name('main'), ['true']), 'E_NOT_RUNNING');
    });

    it('restarts a stopped container', async () => {
      await running('main');
      await runtime.stop(name('main'));
      expect((await runtime.inspect(name('main'))).state).toBe('stopped');
      await runtime.start(name('main'));
      expect((await runtime.inspect(name('main'))).state).toBe('running');
      expect((await runtime.exec(name('main'), ['cat', 'hello.txt'])).exitCode).toBe(0);
    });

    it('refuses to remove a running container without force, then removes it with force', async () => {
      await running('main');
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
      made.push(name('noimage'));
      await expectCode(runtime.create(spec('noimage', { image: `berth-missing-${run}:latest` })), 'E_NOT_FOUND');
    });

    it('builds an image from a Dockerfile and runs it', async () => {
      if (!runtime.capabilities.images) {
        await expectCode(runtime.buildImage({ contextDir: root, tag: 'x' }), 'E_UNSUPPORTED');
        return;
      }
      const context = mkdtempSync(join(tmpdir(), 'berth-contract-build-'));
      writeFileSync(join(context, 'Dockerfile'), `FROM ${image}\nRUN echo built-by-berth > /built.txt\n`);
      // The run's label on the image: afterAll removes it (removeRunImages).
      const tag = `berth-ct-build-${run}:latest`;
      const built = await runtime.buildImage({ contextDir: context, tag, labels: { ...runLabel } });
      expect(built.labels).toMatchObject(runLabel);
      await fresh('built', { image: tag });
      await runtime.start(name('built'));
      expect((await runtime.exec(name('built'), ['cat', '/built.txt'])).stdout).toBe('built-by-berth\n');
    });

    it('ensures an internal network once, and finds it again', async () => {
      const network = `berth-ct-${run}-net`;
      if (!runtime.capabilities.internalNetworks) {
        await expectCode(runtime.networkEnsure({ name: network, internal: true }), 'E_UNSUPPORTED');
        return;
      }
      try {
        const first = await runtime.networkEnsure({ name: network, internal: true, labels: runLabel });
        const again = await runtime.networkEnsure({ name: network, internal: true, labels: runLabel });
        expect(again.id).toBe(first.id);
        expect(first).toMatchObject({ name: network, internal: true, labels: runLabel });
        expect(first.subnet).toMatch(/^\d+\.\d+\.\d+\.\d+\/\d+$/);
        await runtime.networkRemove(network);
        await expectCode(runtime.networkRemove(network), 'E_NOT_FOUND');
      } finally {
        await runtime.networkRemove(network).catch(() => undefined);
      }
    });
  });
}
