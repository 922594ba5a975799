import type { EgressAttachment } from '../egress/workspace-egress.js';
import { EXEC_FENCE, firewalledCommand } from '../egress/guest-firewall.js';
import type { ContainerInfo, ContainerSpec, Mount, PublishedPort, TmpfsMount, VolumeMount } from '../runtime/types.js';
import { LABELS } from './labels.js';
import type { ContainerPrivileges } from './privileges.js';
import type { SpecHash } from './spec-hash.js';
import { rootTarget, type WorkspaceSpec } from './spec.js';
import { containerNameFor } from './workspace-id.js';
import { containerUserFields } from './workspace-user.js';

/** The keep-alive main process: the workspace's work happens in execs. The init forwards stop's TERM. */
export const KEEP_ALIVE: readonly string[] = ['tail', '-f', '/dev/null'];

/** argv0 of the entrypoint chain, so `ps` in the workspace says what the main process is. */
export const ENTRYPOINTS_ARGV0 = 'berth-entrypoints';

/**
 * The main process: the keep-alive, after the entrypoints (a devcontainer feature's `entrypoint`)
 * each run in turn, as the reference chains them (one `/bin/sh -c` script, the entrypoints a line
 * each, then `exec "$@"`: src/spec-node/singleContainer.ts@v0.88.0 line 389). They run at every
 * start, as the container's user. Behind the guest firewall (Apple with egress) they run without
 * CAP_NET_ADMIN, as every exec does: the firewall keeps it for itself.
 */
export function mainCommand(entrypoints: readonly string[], fence: { proxyHost: string; proxyPort: number } | null): string[] {
  const chain = entrypoints.length === 0 ? [...KEEP_ALIVE] : ['/bin/sh', '-c', `${entrypoints.join('\n')}\nexec "$@"`, ENTRYPOINTS_ARGV0, ...KEEP_ALIVE];
  if (fence === null) return chain;
  return firewalledCommand(fence.proxyHost, fence.proxyPort, entrypoints.length === 0 ? chain : [...EXEC_FENCE, ...chain]);
}

/** Everything a workspace's container is made from, worked out before the create. */
export interface ContainerPlan {
  id: string;
  spec: WorkspaceSpec;
  /** The mounts as planned (checked, skipped ones left out, Berth's own added). */
  mounts: readonly Mount[];
  volumes?: readonly VolumeMount[] | undefined;
  tmpfs?: readonly TmpfsMount[] | undefined;
  /** The spec hash it is labelled with, so the next ensure can tell drift. */
  desired: SpecHash;
  /** This installation's uuid: the owner label. */
  owner: string;
  egress: EgressAttachment | null;
  /** The preview ports, allocated for this create. */
  ports: readonly PublishedPort[];
  /** This create's own mark: a failed create removes a leftover only when it carries it. */
  nonce: string;
}

/** The engine's spec for a workspace's container: pure, so what ensure asks for is plain to read and test. */
export function containerSpecFor(plan: ContainerPlan): ContainerSpec {
  const { id, spec, desired, egress } = plan;
  return {
    name: containerNameFor(id),
    image: spec.image,
    command: mainCommand(spec.entrypoints ?? [], egress?.fence ?? null),
    // The guest firewall sets its rules with CAP_NET_ADMIN (the runtime grants it; execs drop it).
    ...(egress?.fence ? { netAdmin: true } : {}),
    init: true,
    labels: {
      [LABELS.managed]: 'true',
      [LABELS.workspace]: id,
      [LABELS.owner]: plan.owner,
      [LABELS.specHash]: desired.hash,
      [LABELS.specParts]: desired.parts,
      [LABELS.root]: spec.root,
      [LABELS.createdBy]: plan.nonce,
    },
    mounts: plan.mounts,
    // A named volume Berth makes carries whose it is; it is kept when the container goes (docs/DESIGN.md).
    ...((plan.volumes ?? []).length > 0 ? { volumes: (plan.volumes ?? []).map((v) => (v.name === null ? v : { ...v, labels: volumeLabels(id, plan.owner) })) } : {}),
    ...((plan.tmpfs ?? []).length > 0 ? { tmpfs: plan.tmpfs } : {}),
    env: { ...spec.env, BERTH_WORKSPACE: id, ...(egress?.env ?? {}) },
    workdir: rootTarget(spec),
    ...containerUserFields(spec.user),
    cpus: spec.cpus ?? undefined,
    memoryBytes: spec.memoryBytes ?? undefined,
    ports: plan.ports,
    // Checked against the workspace's rules when the spec was normalized (privileges.ts).
    ...(spec.privileges ? privilegeFields(spec.privileges) : {}),
    network: egress?.network ?? undefined,
    // docker/podman egress: no published ports, no resolver out (egress/network-confinement.ts).
    ...(egress?.confined ?? {}),
  };
}

function privilegeFields(privileges: ContainerPrivileges): Partial<ContainerSpec> {
  return {
    ...(privileges.capAdd.length > 0 ? { capAdd: privileges.capAdd } : {}),
    ...(privileges.securityOpt.length > 0 ? { securityOpt: privileges.securityOpt } : {}),
    ...(privileges.privileged ? { privileged: true } : {}),
    ...(privileges.addHosts.length > 0 ? { addHosts: privileges.addHosts } : {}),
    ...(privileges.devices.length > 0 ? { devices: privileges.devices } : {}),
  };
}

/**
 * The container a create just made, as Berth knows it without asking the engine again: its `ip` is
 * null (ensure does not spend an engine call to look it up; `Berth.status(id)` does).
 */
export function createdContainer(containerId: string, spec: ContainerSpec, imageId: string | null, now: string): ContainerInfo {
  return {
    id: containerId,
    name: spec.name,
    state: 'running',
    image: spec.image,
    imageId,
    labels: { ...spec.labels },
    mounts: [...(spec.mounts ?? [])],
    ip: null,
    ports: [...(spec.ports ?? [])],
    createdAt: now,
    startedAt: now,
    exitCode: null,
    cpus: spec.cpus ?? null,
    memoryBytes: spec.memoryBytes ?? null,
  };
}

/**
 * On a named volume Berth makes: the workspace and installation it was made for, so `docker volume
 * ls --filter label=dev.berth.volume-workspace=<id>` finds it. Not `dev.berth.managed`: that marks
 * workspace containers, which listings and gc read.
 */
export function volumeLabels(id: string, owner: string): Record<string, string> {
  return { [LABELS.volumeWorkspace]: id, [LABELS.owner]: owner };
}
