import { homedir } from 'node:os';
import { BerthError, isBerthError } from '../errors.js';
import type { BerthEventInput } from '../events.js';
import { notFound } from '../runtime/errors.js';
import type { ContainerInfo, ContainerSpec, Runtime, RuntimeKind } from '../runtime/types.js';
import { LABELS, isOwnedBy } from './labels.js';
import { planMounts, WORKSPACE_TARGET, type MountPlan, type SkippedMount } from './mounts.js';
import { normalizeSpec, type WorkspaceSpec, type WorkspaceSpecInput } from './spec.js';
import { driftedParts, specHash, type SpecHash } from './spec-hash.js';
import { containerNameFor, validateWorkspaceId } from './workspace-id.js';
import type { EgressRecord, Ledger } from '../state/store.js';
import type { EgressPolicy } from '../egress/policy.js';
import { randomBytes } from 'node:crypto';
import { keepShield, shieldBridge, unshieldBridge } from '../egress/host-shield.js';
import { CONFINED_TO_NETWORK } from '../egress/network-confinement.js';
import { profileMount, removeWorkspaceFiles, writeShellProfile } from './shell-profile.js';
import { removeAddressCard, writeAddressCard } from './address-card.js';
import { EXEC_FENCE, firewalledCommand, waitForFirewall } from '../egress/guest-firewall.js';
import { allocatePreviewPorts, APPLE_DEFAULT_PREVIEW_PORTS } from './preview-ports.js';
import { lockPaths, withFileLock } from '../state/file-lock.js';

/** What ensure did: nothing (reused), started a stopped container, created one, or replaced one. */
export type EnsureAction = 'reused' | 'started' | 'created' | 'recreated';

export interface EnsureResult {
  id: string;
  runtime: RuntimeKind;
  action: EnsureAction;
  /** Why it recreated (the parts that drifted, or why the old container was unusable). */
  reasons: string[];
  /**
   * The container as Berth knows it. After a create or start its `ip` is null: ensure() does not
   * spend an engine call to look it up; `Berth.status(id)` does.
   */
  container: ContainerInfo;
  skippedMounts: SkippedMount[];
}

/** Where egress settings are kept (the store), beside the ledger. */
export interface EgressStore {
  egress(workspace?: string): EgressRecord[];
  putEgress(record: Omit<EgressRecord, 'updatedAt'>): void;
  deleteEgress(workspace: string): void;
  /** Env values and the proxy token of a removed workspace, out of every row. */
  forgetSecrets(workspace: string): void;
  activeEntries(runtime?: RuntimeKind): { id: number; kind: string; name: string; workspace: string | null; resourceId: string | null }[];
}

export interface WorkspaceManagerOptions {
  runtime: Runtime;
  /** This installation's uuid: the owner label. */
  owner: string;
  berthHome: string;
  userHome?: string | undefined;
  env?: NodeJS.ProcessEnv | undefined;
  emit: (event: BerthEventInput) => void;
  /** Where every create and remove is recorded, so cleanup only ever touches what Berth made. */
  ledger: Ledger & EgressStore;
}

/** Where a workspace's clients find the egress proxy: every workspace network has its own gateway. */
export const EGRESS_PROXY_PORT = 3128;

/**
 * Host mode's proxy is on this machine's loopback, shared by every Berth home on it:
 * `BERTH_HOST_EGRESS_PORT` gives an installation its own (the sandbox relays the same port inside).
 */
export function hostEgressPort(env: NodeJS.ProcessEnv): number {
  const port = Number(env['BERTH_HOST_EGRESS_PORT'] ?? EGRESS_PROXY_PORT);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new BerthError('E_INVALID_INPUT', `BERTH_HOST_EGRESS_PORT must be a port number, got ${JSON.stringify(env['BERTH_HOST_EGRESS_PORT'])}.`, { hint: 'Unset it (3128) or give a free loopback port.' });
  }
  return port;
}

export function egressNetworkFor(id: string): string {
  return `berth-net-${id}`;
}

/**
 * The variables npm, git, curl and pip read, in both cases, with what must not be proxied; and
 * NODE_USE_ENV_PROXY, without which node's own fetch and http (Node >= 24 and 22.21) ignore them.
 */
export function proxyEnv(url: string, subnet: string | null): Record<string, string> {
  const noProxy = ['localhost', '127.0.0.1', '::1', ...(subnet ? [subnet] : [])].join(',');
  return { HTTP_PROXY: url, HTTPS_PROXY: url, http_proxy: url, https_proxy: url, NO_PROXY: noProxy, no_proxy: noProxy, NODE_USE_ENV_PROXY: '1' };
}

/** Everything converge() worked out about one workspace, handed to the steps that act on it. */
interface Target {
  id: string;
  name: string;
  spec: WorkspaceSpec;
  plan: MountPlan;
  imageId: string | null;
  desired: SpecHash;
}

/** The keep-alive main process: the workspace's work happens in execs. The init forwards stop's TERM. */
const KEEP_ALIVE = ['tail', '-f', '/dev/null'];
const STOP_GRACE_SECONDS = 5;

/**
 * Brings workspaces to the state their spec describes, lazily and at most once at a time per
 * workspace: concurrent callers with the same spec share one operation (and one engine create).
 */
export class WorkspaceManager {
  private readonly runtime: Runtime;
  private readonly owner: string;
  private readonly berthHome: string;
  private readonly userHome: string;
  private readonly env: NodeJS.ProcessEnv;
  private readonly emit: (event: BerthEventInput) => void;
  private readonly ledger: Ledger & EgressStore;
  private readonly flights = new Map<string, { key: string; promise: Promise<EnsureResult> }>();

  constructor(options: WorkspaceManagerOptions) {
    this.runtime = options.runtime;
    this.owner = options.owner;
    this.berthHome = options.berthHome;
    this.userHome = options.userHome ?? homedir();
    this.env = options.env ?? process.env;
    this.emit = options.emit;
    this.ledger = options.ledger;
  }

  ensure(id: string, input: WorkspaceSpecInput = {}): Promise<EnsureResult> {
    try {
      validateWorkspaceId(id);
      const spec = normalizeSpec(input);
      const key = JSON.stringify(spec);
      const flight = this.flights.get(id);
      if (flight?.key === key) return flight.promise;
      // A different spec waits for the flight in progress, then gets its own turn.
      const previous = flight?.promise.catch(() => undefined) ?? Promise.resolve();
      const promise = previous
        .then(() => this.exclusively(id, 'up', () => this.converge(id, spec)))
        .finally(() => {
          if (this.flights.get(id)?.promise === promise) this.flights.delete(id);
        });
      this.flights.set(id, { key, promise });
      return promise;
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  /**
   * Runs observe→decide→act on one workspace holding its lock, across every process of this
   * $BERTH_HOME (CLI calls, the daemon, apps): a caller that waited then observes what the holder
   * made and reuses it. The lock is a kernel file lock, no engine call (file-lock.ts). Public for
   * the other observe→act paths on a workspace (`dev start`); never nest it (it is not re-entrant).
   */
  exclusively<T>(id: string, role: string, work: () => Promise<T>, onWait?: () => void): Promise<T> {
    return withFileLock(lockPaths.workspace(this.berthHome, id), { role: `${role} ${id}`, noteInBackground: true, onWait }, work);
  }

  private async converge(id: string, spec: WorkspaceSpec, retried = false): Promise<EnsureResult> {
    const name = containerNameFor(id);
    const plan = this.plan(id, spec);
    if (this.runtime.capabilities.isolation) writeShellProfile(this.berthHome, id, spec.env);
    for (const skipped of plan.skipped) {
      this.emit({ type: 'workspace.mount-skipped', workspace: id, level: 'warn', message: `Mount ${skipped.source} ${skipped.reason}.`, data: { ...skipped } });
    }
    const { container, image } = await this.runtime.observe(name, spec.image);
    if (this.runtime.capabilities.images && image === null) throw missingImage(this.runtime.kind, spec.image);
    const imageId = image?.id ?? null;
    const target: Target = { id, name, spec, plan, imageId, desired: this.specHashOf(spec, plan, imageId) };
    const result = (action: EnsureAction, info: ContainerInfo, reasons: string[] = []): EnsureResult => ({
      id,
      runtime: this.runtime.kind,
      action,
      reasons,
      container: info,
      skippedMounts: plan.skipped,
    });

    if (container === null) {
      try {
        return result('created', await this.createAndStart(target, 'created', []));
      } catch (error) {
        // The name was taken after we looked: by an engine CLI a killed Berth left running, or by
        // someone who ignores the lock. Look again (once) and decide on what is there now.
        if (retried || !isBerthError(error, 'E_CONFLICT')) throw error;
        return this.converge(id, spec, true);
      }
    }
    if (!isOwnedBy(container.labels, this.owner)) throw foreignContainer(this.runtime.kind, name, container);

    this.ledger.recordDesired(this.runtime.kind, name, spec);
    if (spec.egress !== null) this.updatePolicy(id, spec.egress);
    const replace = async (reasons: string[]): Promise<EnsureResult> => {
      // Exactly the container observed (under the lock) goes, by its id; the runtime system is never touched.
      await this.removeContainer(id, container.id);
      return result('recreated', await this.createAndStart(target, 'recreated', reasons), reasons);
    };
    if (container.labels[LABELS.specHash] !== target.desired.hash) {
      const reasons = driftedParts(container.labels[LABELS.specParts], target.desired.parts).map((part) => `${part} changed`);
      return replace(reasons.length > 0 ? reasons : ['spec changed']);
    }
    // A firewall reload or a reboot takes the host shield away behind Berth's back: put it back
    // before the workspace is handed over (or started). A few stats when it is there, no engine call.
    if (spec.egress !== null) await keepShield(this.ledger.egress(id)[0], this.emit);
    if (container.state === 'running') return result('reused', container);
    if (container.state !== 'created' && container.state !== 'stopped') return replace([`the existing container is ${container.state}`]);
    try {
      await this.runtime.start(name);
    } catch (error) {
      if (!isBerthError(error, 'E_RUNTIME_FAILED', 'E_NOT_FOUND')) throw error;
      return replace([`the existing container could not start: ${error.message}`]);
    }
    if (this.execFence(id).length > 0) await waitForFirewall(this.runtime, name, id);
    this.emit({ type: 'workspace.started', workspace: id, message: `Started ${name}.` });
    // Not re-inspected: that would cost an engine call on every start. The address is in status().
    return result('started', { ...container, state: 'running', ip: null, startedAt: new Date().toISOString() });
  }

  private previewPortCount(spec: WorkspaceSpec): number {
    if (!this.runtime.capabilities.publishPorts) {
      if ((spec.previewPorts ?? 0) > 0) {
        throw new BerthError('E_UNSUPPORTED', `${this.runtime.kind} cannot publish preview ports.`, {
          hint: 'In host mode dev servers listen on this machine directly; drop --preview-ports.',
        });
      }
      return 0;
    }
    return spec.previewPorts ?? (this.runtime.kind === 'apple' ? APPLE_DEFAULT_PREVIEW_PORTS : 0);
  }

  /** Host mode says what confines the workspace, never silently: an event, a warning when nothing does. */
  private async reportConfinement(id: string, name: string, spec: WorkspaceSpec): Promise<void> {
    const isolation = (await this.runtime.inspect(name)).labels['berth.isolation'] ?? 'none';
    if (isolation === 'sandbox') {
      const network = spec.egress === null ? 'the host network (no egress control: declare --allow to confine it)' : 'no network but the egress proxy';
      this.emit({ type: 'workspace.isolation', workspace: id, level: spec.egress === null ? 'warn' : 'info', message: `${id} runs sandboxed (bubblewrap): the system read-only, the home empty, ${network}.`, data: { isolation, egress: spec.egress !== null } });
    } else {
      const why = spec.hostSandbox === 'off' ? 'as you chose (--unconfined)' : 'this machine has no sandbox for host mode';
      this.emit({ type: 'workspace.isolation', workspace: id, level: 'warn', message: `${id} runs UNCONFINED, ${why}: its commands see your whole home, write anywhere you can, ignore :ro and reach any network; egress rules are not enforced.`, data: { isolation, egress: spec.egress !== null } });
    }
  }

  /** The mounts to make: the user's (checked), plus Berth's own shell profile where there is a container. */
  private plan(id: string, spec: WorkspaceSpec): MountPlan {
    const plan = planMounts(spec, { userHome: this.userHome, berthHome: this.berthHome, env: this.env });
    if (!this.runtime.capabilities.isolation) return plan;
    return { ...plan, mounts: [...plan.mounts, profileMount(this.berthHome, id)] };
  }

  /**
   * Would ensure() recreate this container for this spec? Asks the engine nothing but the image
   * id (passed in), so listings can flag drift cheaply. A spec that no longer plans (its root is
   * gone) counts as drift.
   */
  hasDrifted(id: string, container: ContainerInfo, spec: WorkspaceSpec, imageId: string | null): boolean {
    try {
      return this.hashFor(id, spec, imageId) !== container.labels[LABELS.specHash];
    } catch {
      return true;
    }
  }

  /** The spec hash ensure() would label this workspace's container with (the planner compares it). */
  hashFor(id: string, spec: WorkspaceSpec, imageId: string | null): string {
    return this.desiredHash(id, spec, imageId).hash;
  }

  /** The hash and its parts (so the planner can name what drifted). */
  desiredHash(id: string, spec: WorkspaceSpec, imageId: string | null): SpecHash {
    return this.specHashOf(spec, this.plan(id, spec), imageId);
  }

  private specHashOf(spec: WorkspaceSpec, plan: MountPlan, imageId: string | null): SpecHash {
    return specHash(spec, plan, imageId, this.owner, { previewPorts: this.previewPortCount(spec), guestFirewall: this.guestFirewall });
  }

  /** Egress here needs a firewall inside the guest: the runtime's internal networks still route out. */
  private get guestFirewall(): boolean {
    const { internalNetworks, internalNetworkRoutesOut } = this.runtime.capabilities;
    return internalNetworks && internalNetworkRoutesOut;
  }

  /** Creates and starts in one engine call, with the intent in the ledger first. */
  private async createAndStart(target: Target, action: 'created' | 'recreated', reasons: string[]): Promise<ContainerInfo> {
    const { id, name, spec, desired } = target;
    // A live entry for this name is stale here: its container is gone (observed absent, or just
    // removed by a run that died before closing the entry). One live entry per name, always.
    this.ledger.markRemoved(this.runtime.kind, 'container', name);
    // Intent first: if Berth dies mid-create, the ledger still knows the container may be ours.
    const entry = this.ledger.recordIntent({ kind: 'container', runtime: this.runtime.kind, name, workspace: id, specHash: desired.hash, spec });
    if (spec.egress === null) await this.removeEgress(id);
    const egress = spec.egress === null ? null : await this.prepareEgress(id, spec.egress);
    const base = this.containerSpec(id, spec, target.plan, desired);
    const containerSpec: ContainerSpec = {
      ...base,
      command: egress?.fence ? firewalledCommand(egress.fence.proxyHost, egress.fence.proxyPort, KEEP_ALIVE) : KEEP_ALIVE,
      ports: await allocatePreviewPorts(this.previewPortCount(spec)),
      network: egress?.network ?? undefined,
      env: { ...base.env, ...(egress?.env ?? {}) },
      // docker/podman egress: no published ports, no resolver out (egress/network-confinement.ts).
      ...(egress?.confined ?? {}),
      // Host mode: its sandbox (or the user's explicit choice of none), with the proxy relayed in.
      hostSandbox: spec.hostSandbox === 'auto' ? undefined : spec.hostSandbox, // auto: the runtime's default
      egressProxyPort: egress?.proxyPort,
    };
    let containerId: string;
    try {
      containerId = await this.runtime.create(containerSpec, { start: true });
    } catch (error) {
      await this.cleanUpFailedCreate(id, base.labels?.[LABELS.createdBy] ?? '');
      throw error;
    }
    this.ledger.confirmCreated(entry, containerId);
    writeAddressCard(this.berthHome, id, { runtime: this.runtime.kind, container: containerId, ...(egress?.fence ? { fence: [...EXEC_FENCE] } : {}) });
    if (egress?.fence) await waitForFirewall(this.runtime, name, id);
    const message = action === 'created' ? `Created ${name}.` : `Recreated ${name}: ${reasons.join('; ')}.`;
    this.emit({ type: `workspace.${action}`, workspace: id, message, data: { reasons, runtime: this.runtime.kind } });
    if (this.runtime.kind === 'host') await this.reportConfinement(id, name, spec);
    const now = new Date().toISOString();
    return {
      id: containerId,
      name,
      state: 'running',
      image: spec.image,
      imageId: target.imageId,
      labels: { ...containerSpec.labels },
      mounts: target.plan.mounts,
      ip: null,
      ports: [...(containerSpec.ports ?? [])],
      createdAt: now,
      startedAt: now,
      exitCode: null,
      cpus: containerSpec.cpus ?? null,
      memoryBytes: containerSpec.memoryBytes ?? null,
    };
  }

  /**
   * A create+start that failed may have left a created container behind (this call's, to remove)
   * or may have failed because the name is taken (someone else's, never to touch, even another
   * Berth process's with the very same spec). The engine returns no id when `run` fails, so the
   * create's own mark decides: only a leftover labelled with this create's nonce goes, by its id.
   */
  private async cleanUpFailedCreate(id: string, nonce: string): Promise<void> {
    const name = containerNameFor(id);
    const leftover = await this.runtime.inspect(name).catch(() => null);
    if (leftover && isOwnedBy(leftover.labels, this.owner) && leftover.labels[LABELS.createdBy] === nonce) {
      // Left on record when it cannot go: the ledger must keep knowing it may exist.
      await this.removeContainer(id, leftover.id).catch(() => undefined);
    } else {
      this.ledger.markRemoved(this.runtime.kind, 'container', name);
    }
  }

  private containerSpec(id: string, spec: WorkspaceSpec, plan: MountPlan, desired: SpecHash): ContainerSpec {
    return {
      name: containerNameFor(id),
      image: spec.image,
      command: KEEP_ALIVE,
      init: true,
      labels: {
        [LABELS.managed]: 'true',
        [LABELS.workspace]: id,
        [LABELS.owner]: this.owner,
        [LABELS.specHash]: desired.hash,
        [LABELS.specParts]: desired.parts,
        [LABELS.root]: spec.root,
        // This create's own mark: a failed create removes a leftover only when it carries it.
        [LABELS.createdBy]: randomBytes(9).toString('base64url'),
      },
      mounts: plan.mounts,
      env: { ...spec.env, BERTH_WORKSPACE: id },
      workdir: WORKSPACE_TARGET,
      cpus: spec.cpus ?? undefined,
      memoryBytes: spec.memoryBytes ?? undefined,
    };
  }

  /** Stops the workspace's container (idempotent). */
  async stop(id: string): Promise<void> {
    validateWorkspaceId(id);
    const name = containerNameFor(id);
    await this.exclusively(id, 'stop', async () => {
      await this.ownedContainer(id);
      await this.runtime.stop(name, { graceSeconds: STOP_GRACE_SECONDS });
    });
    this.emit({ type: 'workspace.stopped', workspace: id, message: `Stopped ${name}.` });
  }

  /** Removes the workspace's container; its files on the host are never touched. */
  /**
   * Egress on docker and podman: the workspace's own internal network (no route out, and no path to
   * other workspaces), with Berth's proxy on the network's gateway, the host's only address there.
   * Host mode gets the proxy variables only, on loopback: nothing enforces them there.
   */
  private async prepareEgress(
    id: string,
    policy: EgressPolicy,
  ): Promise<{ network: string | null; env: Record<string, string>; fence: { proxyHost: string; proxyPort: number } | null; confined: Partial<ContainerSpec> | null; proxyPort: number }> {
    let network: string | null = null;
    let bridge: string | null = null;
    let proxyHost = '127.0.0.1';
    const proxyPort = this.runtime.kind === 'host' ? hostEgressPort(this.env) : EGRESS_PROXY_PORT;
    let subnet: string | null = null;
    if (this.runtime.capabilities.internalNetworks) {
      network = egressNetworkFor(id);
      // Intent before the effect, as for containers: a run killed in between leaves a ledgered name.
      const known = this.ledger.activeEntries(this.runtime.kind).find((e) => e.kind === 'network' && e.name === network);
      const entry = known?.id ?? this.ledger.recordIntent({ kind: 'network', runtime: this.runtime.kind, name: network, workspace: id });
      const info = await this.runtime.networkEnsure({ name: network, internal: true, labels: { [LABELS.managed]: 'true', [LABELS.owner]: this.owner, [LABELS.workspace]: id } });
      if (known?.resourceId !== info.id) this.ledger.confirmCreated(entry, info.id);
      if (info.gateway === null) {
        throw new BerthError('E_RUNTIME_FAILED', `Network ${network} has no gateway address for the egress proxy to listen on.`, { hint: 'Remove the network and run berth up again.' });
      }
      proxyHost = info.gateway;
      subnet = info.subnet;
      bridge = info.bridge;
      // A network made anew (replaced, or recreated by hand) may have a new bridge: the old one's rules go.
      const before = this.ledger.egress(id)[0]?.bridge;
      if (before != null && before !== bridge) await unshieldBridge(before);
      if (bridge !== null) {
        const shield = await shieldBridge(bridge, EGRESS_PROXY_PORT);
        if (!shield.shielded) this.emit({ type: 'egress.unshielded', workspace: id, level: 'warn', message: `Egress of ${id}: ${shield.detail}.`, data: { bridge } });
      }
    }
    const existing = this.ledger.egress(id)[0];
    const token = existing?.token ?? randomBytes(18).toString('base64url');
    this.ledger.putEgress({ workspace: id, runtime: this.runtime.kind, token, policy, network, bridge, proxyHost, proxyPort });
    const fence = network !== null && this.guestFirewall ? { proxyHost, proxyPort: EGRESS_PROXY_PORT } : null;
    const confined = network !== null && !this.guestFirewall ? CONFINED_TO_NETWORK : null;
    return { network, env: proxyEnv(`http://${id}:${token}@${proxyHost}:${String(proxyPort)}`, subnet), fence, confined, proxyPort };
  }

  /**
   * What goes in front of every command Berth runs in this workspace: nothing, or (where a firewall
   * in the guest enforces egress) the fence that keeps those commands from changing it.
   */
  execFence(id: string): readonly string[] {
    const record = this.ledger.egress(id)[0];
    return record !== undefined && record.network !== null && this.guestFirewall ? EXEC_FENCE : [];
  }

  /** An ensure with different rules than the recorded ones changes them; same rules change nothing. */
  private updatePolicy(id: string, policy: EgressPolicy): void {
    const record = this.ledger.egress(id)[0];
    if (record && JSON.stringify(record.policy) !== JSON.stringify(policy)) this.replacePolicy(record, policy);
  }

  /** Rules change live: the proxy re-reads them on its next connection, the workspace is not touched. */
  replacePolicy(record: EgressRecord, policy: EgressPolicy): void {
    this.ledger.putEgress({ ...record, policy });
    const id = record.workspace;
    this.emit({ type: 'egress.policy-changed', workspace: id, message: `Egress policy of ${id}: allow ${policy.allow.join(', ') || '(nothing)'}; deny ${policy.deny.join(', ') || '(nothing)'}.`, data: { ...policy } });
  }

  /**
   * Removes the workspace's container, its egress network and records. Finishes a removal that was
   * cut short too: with the container already gone, what the ledger or the egress table still holds
   * for it goes. Only a workspace Berth knows nothing of is "not found".
   */
  async remove(id: string): Promise<void> {
    validateWorkspaceId(id);
    await this.exclusively(id, 'rm', () => this.removeLocked(id));
  }

  private async removeLocked(id: string): Promise<void> {
    const name = containerNameFor(id);
    const container = await this.runtime.inspect(name).catch((error: unknown) => {
      if (isBerthError(error, 'E_NOT_FOUND')) return null;
      throw error;
    });
    if (container !== null && !isOwnedBy(container.labels, this.owner)) throw foreignContainer(this.runtime.kind, name, container);
    const remembered = this.ledger.activeEntries(this.runtime.kind).some((e) => e.workspace === id) || this.ledger.egress(id).length > 0;
    if (container === null && !remembered) await this.ownedContainer(id);
    if (container !== null) await this.removeContainer(id, container.id);
    else this.forgetContainer(id); // already gone: never a by-name remove, which could hit a newcomer
    await this.removeEgress(id);
    // Env values and the proxy token do not outlive the workspace: not in files, not in rows. Still
    // under the lock: an `up` waiting for it writes the next workspace's profile and egress row.
    removeWorkspaceFiles(this.berthHome, id);
    this.ledger.forgetSecrets(id);
    this.emit({ type: 'workspace.removed', workspace: id, message: `Removed ${name}.` });
  }

  /** The workspace's egress network (when Berth made one) and its proxy settings go with it. */
  private async removeEgress(id: string): Promise<void> {
    const network = egressNetworkFor(id);
    const record = this.ledger.egress(id)[0];
    if (record?.bridge) await unshieldBridge(record.bridge);
    if (this.ledger.activeEntries(this.runtime.kind).some((e) => e.kind === 'network' && e.name === network)) {
      await this.runtime.networkRemove(network).catch((error: unknown) => {
        if (!isBerthError(error, 'E_NOT_FOUND')) throw error;
      });
      this.ledger.markRemoved(this.runtime.kind, 'network', network);
    }
    this.ledger.deleteEgress(id);
  }

  /** Removes the workspace's container by the engine id it was observed with (under the lock), never by name. */
  private async removeContainer(id: string, engineId: string): Promise<void> {
    await this.runtime.remove(engineId, { force: true });
    this.forgetContainer(id);
  }

  /** The ledger and the address card let go of the workspace's container. */
  private forgetContainer(id: string): void {
    this.ledger.markRemoved(this.runtime.kind, 'container', containerNameFor(id));
    removeAddressCard(this.berthHome, id);
  }

  /** The workspace's container, refusing one that exists under our name but is not ours. */
  async ownedContainer(id: string): Promise<ContainerInfo> {
    validateWorkspaceId(id);
    const name = containerNameFor(id);
    const container = await this.runtime.inspect(name).catch((error: unknown) => {
      if (isBerthError(error, 'E_NOT_FOUND')) {
        throw new BerthError('E_NOT_FOUND', `No workspace "${id}" on ${this.runtime.kind}.`, {
          hint: `Create it with \`berth up ${id}\` (or check --runtime).`,
        });
      }
      throw error;
    });
    if (!isOwnedBy(container.labels, this.owner)) throw foreignContainer(this.runtime.kind, name, container);
    return container;
  }
}

function missingImage(kind: RuntimeKind, image: string): BerthError {
  const error = notFound(kind, 'image', image);
  return new BerthError('E_NOT_FOUND', `The workspace image "${image}" is not in ${kind}.`, {
    hint: `Build the default one with \`${kind} build -t ${image} images/workspace\`, pull it with \`${kind} pull ${image}\`, or pass --image.`,
    cause: error,
  });
}

function foreignContainer(kind: RuntimeKind, name: string, container: ContainerInfo): BerthError {
  const why = container.labels[LABELS.managed] === 'true' ? 'another Berth installation created it' : 'Berth did not create it';
  return new BerthError('E_CONFLICT', `A container named ${name} exists on ${kind}, but ${why}.`, {
    hint: `Berth never reuses or deletes containers it does not own. Remove or rename it yourself (\`${kind === 'host' ? 'its record' : `${kind} rm ${name}`}\`), or choose another workspace id.`,
    details: { name, foreign: true },
  });
}
