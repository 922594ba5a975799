import { describe, expect, it } from 'vitest';
import { needsNetAdmin } from '../../src/egress/guest-firewall.js';
import { CONFINED_TO_NETWORK } from '../../src/egress/network-confinement.js';
import type { EgressAttachment } from '../../src/egress/workspace-egress.js';
import { containerSpecFor, createdContainer, KEEP_ALIVE, type ContainerPlan } from '../../src/workspace/container-spec.js';
import { LABELS } from '../../src/workspace/labels.js';
import { normalizeSpec } from '../../src/workspace/spec.js';

/* The engine spec ensure() asks for, per egress enforcement: what a workspace's container is made from. */

const spec = normalizeSpec({ root: '/work/project', image: 'berth-workspace:test', env: { A: '1', HTTP_PROXY: 'mine' }, cpus: 2, memory: '1g' });
const mounts = [{ source: '/work/project', target: '/workspace', readOnly: false }];
const port = { hostAddress: '127.0.0.1', hostPort: 50000, containerPort: 41000, protocol: 'tcp' as const };
const plan = (egress: EgressAttachment | null): ContainerPlan => ({
  id: 'web',
  spec,
  mounts,
  desired: { hash: 'h', parts: 'image:x' },
  owner: 'installation-a',
  egress,
  ports: [port],
  nonce: 'nonce-1',
});
const proxy = { HTTP_PROXY: 'http://web:t@10.89.0.1:3128' };

describe('the container spec of a workspace', () => {
  it('without egress: the keep-alive under init, ownership and spec labels, the workspace env, limits, ports', () => {
    expect(containerSpecFor(plan(null))).toEqual({
      name: 'berth-web',
      image: 'berth-workspace:test',
      command: KEEP_ALIVE,
      init: true,
      labels: {
        [LABELS.managed]: 'true',
        [LABELS.workspace]: 'web',
        [LABELS.owner]: 'installation-a',
        [LABELS.specHash]: 'h',
        [LABELS.specParts]: 'image:x',
        [LABELS.root]: '/work/project',
        [LABELS.createdBy]: 'nonce-1',
      },
      mounts,
      env: { A: '1', HTTP_PROXY: 'mine', BERTH_WORKSPACE: 'web' },
      workdir: '/workspace',
      cpus: 2,
      memoryBytes: 1024 ** 3,
      ports: [port],
      network: undefined,
    });
  });

  it('docker/podman egress: its network, the proxy env over the user env, confined (no ports, no resolver out)', () => {
    const made = containerSpecFor(plan({ network: 'berth-net-web', env: proxy, fence: null, proxyPort: 3128, confined: CONFINED_TO_NETWORK }));
    expect(made).toMatchObject({ network: 'berth-net-web', env: { A: '1', HTTP_PROXY: proxy.HTTP_PROXY, BERTH_WORKSPACE: 'web' }, ports: [], dnsServers: ['127.0.0.1'], command: KEEP_ALIVE });
  });

  it('Apple egress: the guest firewall is the main process, then the keep-alive', () => {
    const made = containerSpecFor(plan({ network: 'berth-net-web', env: proxy, fence: { proxyHost: '192.168.64.1', proxyPort: 3128 }, proxyPort: 3128, confined: null }));
    expect(needsNetAdmin(made.command)).toBe(true);
    expect(made.netAdmin).toBe(true);
    expect(made.command?.slice(-KEEP_ALIVE.length)).toEqual(KEEP_ALIVE);
    expect(made.command).toContain('192.168.64.1');
    expect(made.ports).toEqual([port]);
  });

  it('the container it made, as Berth knows it without asking the engine', () => {
    const made = containerSpecFor(plan(null));
    expect(createdContainer('engine-id', made, 'sha256:i', '2026-01-01T00:00:00.000Z')).toEqual({
      id: 'engine-id',
      name: 'berth-web',
      state: 'running',
      image: 'berth-workspace:test',
      imageId: 'sha256:i',
      labels: made.labels,
      mounts,
      ip: null,
      ports: [port],
      createdAt: '2026-01-01T00:00:00.000Z',
      startedAt: '2026-01-01T00:00:00.000Z',
      exitCode: null,
      cpus: 2,
      memoryBytes: 1024 ** 3,
    });
  });
});

describe("a workspace spec's sandbox (host mode's switch)", () => {
  it('is auto unless said, and takes on or off', () => {
    expect(normalizeSpec({}).sandbox).toBe('auto');
    expect(normalizeSpec({ sandbox: 'on' }).sandbox).toBe('on');
    expect(normalizeSpec({ sandbox: 'off' }).sandbox).toBe('off');
  });

  it("refuses berth.yaml's runtime kinds and anything else, saying what to do", () => {
    // As the library's callers may pass them: vm | shared-kernel choose a runtime, which a spec cannot.
    expect(() => normalizeSpec({ sandbox: 'vm' as never })).toThrow(/chooses a runtime/);
    expect(() => normalizeSpec({ sandbox: 'yes' as never })).toThrow(/must be auto, on or off/);
  });
});
