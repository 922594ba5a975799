import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OciRuntime } from '../../src/runtime/oci/oci-runtime.js';
import { Store } from '../../src/state/store.js';
import { WorkspaceManager } from '../../src/workspace/ensure.js';
import { LABELS } from '../../src/workspace/labels.js';
import { containerNameFor } from '../../src/workspace/workspace-id.js';
import { expectCode } from '../support/expect-code.js';
import { TEST_IMAGE, engineEnv } from '../support/engines.js';

/**
 * The attack pass's mounts against real engines: each is refused before anything reaches the
 * engine (no container exists afterwards), with the path, the rule and the flag in the error.
 */
describe.each(['podman', 'docker'] as const)('sensitive mounts refused on %s', (engine) => {
  const run8 = randomUUID().slice(0, 8);
  const owner = randomUUID();
  const scratch = mkdtempSync(join(tmpdir(), 'berth-sensitive-it-'));
  const userHome = join(scratch, 'home');
  const berthHome = join(scratch, 'state');
  const project = join(scratch, 'project');
  const env = engineEnv();
  const runtime = new OciRuntime(engine, { env });
  const workspace = `sens-${run8}`;
  let manager: WorkspaceManager;
  let store: Store;

  for (const folder of ['.aws', '.kube', '.config/gcloud', '.azure', '.ssh']) mkdirSync(join(userHome, folder), { recursive: true });
  for (const file of ['.netrc', '.npmrc']) writeFileSync(join(userHome, file), 'machine x login y password z\n');
  mkdirSync(berthHome, { recursive: true });
  mkdirSync(project);
  const etcLink = join(scratch, 'looks-like-a-project');
  symlinkSync('/etc', etcLink);
  const awsLink = join(scratch, 'cache');
  symlinkSync(join(userHome, '.aws'), awsLink);

  const socketOf = (value: string | undefined): string | undefined => (value?.startsWith('unix://') ? value.slice('unix://'.length) : value);
  const cases: [string, { root?: string; mounts?: string[] }, string][] = [
    ['a root that links to /etc', { root: etcLink }, '/etc'],
    ['~/.aws', { mounts: [join(userHome, '.aws')] }, '~/.aws'],
    ['a link to ~/.aws', { mounts: [awsLink] }, '~/.aws'],
    ['~/.kube', { mounts: [join(userHome, '.kube')] }, '~/.kube'],
    ['~/.config/gcloud', { mounts: [join(userHome, '.config/gcloud')] }, '~/.config/gcloud'],
    ['~/.azure', { mounts: [join(userHome, '.azure')] }, '~/.azure'],
    ['~/.netrc', { mounts: [join(userHome, '.netrc')] }, '~/.netrc'],
    ['~/.npmrc', { mounts: [join(userHome, '.npmrc')] }, '~/.npmrc'],
    ['/proc', { mounts: ['/proc'] }, '/proc'],
    ['/etc', { mounts: ['/etc'] }, '/etc'],
    ['~/.ssh', { mounts: [join(userHome, '.ssh')] }, '~/.ssh'],
  ];
  const podmanApi = socketOf(env['BERTH_PODMAN_API']);
  if (podmanApi && existsSync(podmanApi)) cases.push(['the podman API socket Berth uses (BERTH_PODMAN_API)', { mounts: [podmanApi] }, '$BERTH_PODMAN_API']);
  const dockerHost = socketOf(env['DOCKER_HOST']);
  if (dockerHost && existsSync(dockerHost)) cases.push(['the docker socket (DOCKER_HOST)', { mounts: [dockerHost] }, '$DOCKER_HOST']);
  for (const state of ['/var/lib/containers', '/var/lib/docker']) if (existsSync(state)) cases.push([state, { mounts: [state] }, state]);

  beforeAll(async () => {
    const status = await runtime.ensureSystem();
    if (!status.running) throw new Error(`${engine} is not usable: ${status.detail}`);
    store = Store.open(':memory:');
    manager = new WorkspaceManager({ runtime, owner, berthHome, userHome, env, store, emit: () => undefined });
  });

  afterAll(async () => {
    await runtime.remove(containerNameFor(workspace), { force: true }).catch(() => undefined);
    store?.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  it.each(cases)('refuses %s, naming the path, the rule and the flag', async (_label, spec, rule) => {
    const error = await expectCode(manager.ensure(workspace, { root: project, image: TEST_IMAGE, ...spec }), 'E_INVALID_INPUT');
    expect(error.message).toMatch(new RegExp(`^Refusing to mount ${(spec.root ?? spec.mounts?.[0] ?? '').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    expect(error.message).toContain(`(rule ${rule}:`);
    expect(error.hint).toContain('--allow-sensitive-mount');
  });

  it('created no container for any of them', async () => {
    expect(cases.length).toBeGreaterThanOrEqual(12);
    expect(await runtime.observe(containerNameFor(workspace), TEST_IMAGE)).toMatchObject({ container: null });
    expect(await runtime.list({ labels: { [LABELS.owner]: owner } })).toEqual([]);
  });
});
