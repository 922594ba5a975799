import { homedir } from 'node:os';
import { randomBytes } from 'node:crypto';
import { BerthError, isBerthError } from '../errors.js';
import type { BerthEventInput } from '../events.js';
import { notFound } from '../runtime/errors.js';
import type { ContainerInfo, ContainerSpec, Runtime, RuntimeKind } from '../runtime/types.js';
import { LABELS, isOwnedBy } from './labels.js';
import { planMounts, type MountPlan, type SkippedMount } from './mounts.js';
import { normalizeSpec, rootTarget, type WorkspaceSpec, type WorkspaceSpecInput } from './spec.js';
import { specHash, type SpecHash } from './spec-hash.js';
import { containerNameFor, validateWorkspaceId } from './workspace-id.js';
import type { Ledger } from '../state/ledger.js';
import { needsGuestFirewall, RuntimeEgress, type WorkspaceEgress } from '../egress/workspace-egress.js';
import type { EgressStore } from '../state/egress-records.js';
import { profileMount, removeWorkspaceFiles, writeShellProfile } from './shell-profile.js';
import { removeAddressCard, writeAddressCard } from './address-card.js';
import { allocatePreviewPorts, APPLE_DEFAULT_PREVIEW_PORTS, isHostPortTaken, publishedHostPorts } from './preview-ports.js';
import { lockPaths, withFileLock } from '../state/file-lock.js';
import { missingImageHint } from './image-source.js';
import { decideEnsure, describeReason, observedContainer } from './ensure-decision.js';
import { containerSpecFor, createdContainer } from './container-spec.js';

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

/** The state the workspace layer reads and writes; a `Store` is one. */
export interface WorkspaceStore {
  /** Every create and remove, so cleanup only ever touches what Berth made. */
  readonly ledger: Ledger;
  /** Each workspace's egress policy, proxy token and network. */
  readonly egress: EgressStore;
  /** Env values and the proxy token of a removed workspace, out of every row (one transaction). */
  forgetSecrets(workspace: string): void;
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
  store: WorkspaceStore;
  /** The workspace's egress control; default: through Berth's proxy on this runtime (egress/workspace-egress.ts). */
  egress?: WorkspaceEgress | undefined;
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

const STOP_GRACE_SECONDS = 5;
/** Creates tried when a preview port is taken between its allocation and the create. */
const CREATE_PORT_ATTEMPTS = 3;

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
  private readonly store: WorkspaceStore;
  /** Egress is its own job: ensure prepares, keeps and releases it through this, and exec asks it for the fence. */
  readonly egress: WorkspaceEgress;
  private readonly flights = new Map<string, { key: string; promise: Promise<EnsureResult> }>();

  constructor(options: WorkspaceManagerOptions) {
    this.runtime = options.runtime;
    this.owner = options.owner;
    this.berthHome = options.berthHome;
    this.userHome = options.userHome ?? homedir();
    this.env = options.env ?? process.env;
    this.emit = options.emit;
    this.store = options.store;
    this.egress =
      options.egress ??
      new RuntimeEgress({
        runtime: options.runtime,
        store: options.store,
        env: options.env,
        emit: options.emit,
        networkLabels: (id) => ({ [LABELS.managed]: 'true', [LABELS.owner]: options.owner, [LABELS.workspace]: id }),
      });
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
    if (this.runtime.capabilities.isolation === 'container') writeShellProfile(this.berthHome, id, spec.env, rootTarget(spec));
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
    const decision = decideEnsure(observedContainer(container, this.owner), target.desired);
    if (decision.action === 'foreign') throw foreignContainer(this.runtime.kind, name, container);

    this.store.ledger.recordDesired(this.runtime.kind, name, spec);
    if (spec.egress !== null) this.egress.follow(id, spec.egress);
    const replace = async (reasons: string[]): Promise<EnsureResult> => {
      // Exactly the container observed (under the lock) goes, by its id; the runtime system is never touched.
      await this.removeContainer(id, container.id);
      return result('recreated', await this.createAndStart(target, 'recreated', reasons), reasons);
    };
    if (decision.action === 'recreate') return replace(decision.reasons.map(describeReason));
    // Before the workspace is handed over (or started): what went behind Berth's back (the host
    // shield, after a firewall reload or a reboot) is put back.
    if (spec.egress !== null) await this.egress.keep(id);
    if (decision.action === 'reuse') return result('reused', container);
    if (decision.action === 'ghost') return replace(decision.reasons.map(describeReason));
    try {
      await this.runtime.start(name);
    } catch (error) {
      if (!isBerthError(error, 'E_RUNTIME_FAILED', 'E_NOT_FOUND')) throw error;
      return replace([`the existing container could not start: ${error.message}`]);
    }
    await this.egress.ready(id, name);
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
      const why = spec.sandbox === 'off' ? 'as you chose (sandbox: off, --unconfined)' : 'this machine has no sandbox for host mode';
      this.emit({ type: 'workspace.isolation', workspace: id, level: 'warn', message: `${id} runs UNCONFINED, ${why}: its commands see your whole home, write anywhere you can, ignore :ro and reach any network; egress rules are not enforced.`, data: { isolation, egress: spec.egress !== null } });
    }
  }

  /** The mounts to make: the user's (checked), plus Berth's own shell profile where there is a container. */
  private plan(id: string, spec: WorkspaceSpec): MountPlan {
    const plan = planMounts(spec, { userHome: this.userHome, berthHome: this.berthHome, env: this.env });
    if (this.runtime.capabilities.isolation !== 'container') return plan;
    return { ...plan, mounts: [...plan.mounts, profileMount(this.berthHome, id)] };
  }

  /**
   * Would ensure() recreate this container for this spec? Asks the engine nothing but the image
   * id (passed in), so listings can flag drift cheaply. A spec that no longer plans (its root is
   * gone) counts as drift.
   */
  hasDrifted(id: string, container: Pick<ContainerInfo, 'labels'>, spec: WorkspaceSpec, imageId: string | null): boolean {
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
    return specHash(spec, plan, imageId, this.owner, { previewPorts: this.previewPortCount(spec), guestFirewall: needsGuestFirewall(this.runtime.capabilities) });
  }

  /** Creates and starts in one engine call, with the intent in the ledger first. */
  private async createAndStart(target: Target, action: 'created' | 'recreated', reasons: string[]): Promise<ContainerInfo> {
    const { id, name, spec, desired } = target;
    // A live entry for this name is stale here: its container is gone (observed absent, or just
    // removed by a run that died before closing the entry). One live entry per name, always.
    this.store.ledger.markRemoved(this.runtime.kind, 'container', name);
    // Intent first: if Berth dies mid-create, the ledger still knows the container may be ours.
    const intent = () => this.store.ledger.recordIntent({ kind: 'container', runtime: this.runtime.kind, name, workspace: id, specHash: desired.hash, spec });
    let entry = intent();
    const egress = await this.egress.prepare(id, spec.egress);
    const previewPorts = this.previewPortCount(spec);
    let created: { containerId: string; containerSpec: ContainerSpec } | undefined;
    for (let attempt = 1; created === undefined; attempt++) {
      const nonce = randomBytes(9).toString('base64url');
      // One list call, only when there are ports to pick: a port another container publishes is not free.
      const ports = await allocatePreviewPorts(previewPorts, previewPorts > 0 ? await publishedHostPorts(this.runtime) : new Set());
      const containerSpec = {
        ...containerSpecFor({ id, spec, mounts: target.plan.mounts, volumes: target.plan.volumes, tmpfs: target.plan.tmpfs, desired, owner: this.owner, egress, ports, nonce }),
        // Host mode: its sandbox (or the user's explicit choice of none), with the proxy relayed in.
        sandbox: spec.sandbox === 'auto' ? undefined : spec.sandbox, // auto: the runtime's default
        egressProxyPort: egress?.proxyPort,
      };
      try {
        created = { containerId: await this.runtime.create(containerSpec, { start: true }), containerSpec };
      } catch (error) {
        await this.cleanUpFailedCreate(id, nonce);
        // A preview port free when picked was bound by someone else before the engine published
        // it: the create is tried again with fresh ports, under an intent of its own (the clean-up
        // closed this one).
        if (ports.length === 0 || !isHostPortTaken(error) || attempt >= CREATE_PORT_ATTEMPTS) throw error;
        entry = intent();
      }
    }
    const { containerId, containerSpec } = created;
    this.store.ledger.confirmCreated(entry, containerId);
    const fence = this.egress.execFence(id);
    const defaults = spec.devcontainer?.exec;
    writeAddressCard(this.berthHome, id, { runtime: this.runtime.kind, container: containerId, ...(fence.length > 0 ? { fence: [...fence] } : {}), ...(defaults ? { defaults } : {}) });
    await this.egress.ready(id, name);
    const message = action === 'created' ? `Created ${name}.` : `Recreated ${name}: ${reasons.join('; ')}.`;
    this.emit({ type: `workspace.${action}`, workspace: id, message, data: { reasons, runtime: this.runtime.kind } });
    if (this.runtime.kind === 'host') await this.reportConfinement(id, name, spec);
    return createdContainer(containerId, containerSpec, target.imageId, new Date().toISOString());
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
      this.store.ledger.markRemoved(this.runtime.kind, 'container', name);
    }
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
    const remembered = this.store.ledger.activeEntries(this.runtime.kind).some((e) => e.workspace === id) || this.egress.held(id);
    if (container === null && !remembered) await this.ownedContainer(id);
    if (container !== null) await this.removeContainer(id, container.id);
    else this.forgetContainer(id); // already gone: never a by-name remove, which could hit a newcomer
    await this.egress.release(id);
    // Env values and the proxy token do not outlive the workspace: not in files, not in rows. Still
    // under the lock: an `up` waiting for it writes the next workspace's profile and egress row.
    removeWorkspaceFiles(this.berthHome, id);
    this.store.forgetSecrets(id);
    this.emit({ type: 'workspace.removed', workspace: id, message: `Removed ${name}.` });
  }

  /** Removes the workspace's container by the engine id it was observed with (under the lock), never by name. */
  private async removeContainer(id: string, engineId: string): Promise<void> {
    await this.runtime.remove(engineId, { force: true });
    this.forgetContainer(id);
  }

  /** The ledger and the address card let go of the workspace's container. */
  private forgetContainer(id: string): void {
    this.store.ledger.markRemoved(this.runtime.kind, 'container', containerNameFor(id));
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
  return new BerthError('E_NOT_FOUND', `The workspace image "${image}" is not in ${kind}.`, { hint: missingImageHint(kind, image), cause: error });
}

function foreignContainer(kind: RuntimeKind, name: string, container: ContainerInfo): BerthError {
  const why = container.labels[LABELS.managed] === 'true' ? 'another Berth installation created it' : 'Berth did not create it';
  return new BerthError('E_CONFLICT', `A container named ${name} exists on ${kind}, but ${why}.`, {
    hint: `Berth never reuses or deletes containers it does not own. Remove or rename it yourself (\`${kind === 'host' ? 'its record' : `${kind} rm ${name}`}\`), or choose another workspace id.`,
    details: { name, foreign: true },
  });
}
