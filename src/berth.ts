import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { homedir } from 'node:os';
import { berthHome, loadConfig } from './config.js';
import { BerthError, isBerthError } from './errors.js';
import { stampEvent, type BerthEvent, type BerthEventInput } from './events.js';
import { createRuntime, selectRuntime, type RuntimeSelection } from './runtime/select.js';
import type { ContainerInfo, ExecOptions, ExecResult, InteractiveExecOptions, LogsOptions, LogsResult, Runtime, RuntimeKind } from './runtime/types.js';
import { Store, type LedgerEntry, type StoredEvent } from './state/store.js';
import { WorkspaceManager, type EnsureResult } from './workspace/ensure.js';
import { execInWorkspace, rethrowIfGone } from './workspace/exec.js';
import { DevServerManager } from './devserver/manager.js';
import { validatePolicy, type EgressPolicy } from './egress/policy.js';
import { installationId } from './workspace/installation.js';
import { LABELS, isOwnedBy } from './workspace/labels.js';
import { normalizeSpec, type WorkspaceSpec, type WorkspaceSpecInput } from './workspace/spec.js';
import type { DesiredWorkspace, ObservedWorkspace } from './orchestrator/plan.js';
import { containerNameFor, validateWorkspaceId } from './workspace/workspace-id.js';

export interface BerthOptions {
  /** State folder; default `$BERTH_HOME`, else `~/.berth`. */
  home?: string | undefined;
  /** `apple`, `docker`, `podman`, `host` or `auto` (the default: BERTH_RUNTIME, config, detection). */
  runtime?: string | undefined;
  env?: NodeJS.ProcessEnv | undefined;
  /** The user's home folder, for the sensitive-mount rules. Default: the OS's. */
  userHome?: string | undefined;
  /**
   * The workspace the caller is about to address: without an explicit runtime, Berth uses the one
   * the ledger says it lives on, instead of probing engines.
   */
  workspace?: string | undefined;
}

/**
 * running / stopped: ours, as the engine reports it. drifted: ours, but `berth up` with its recorded
 * spec would recreate it. missing: our ledger says we created it, the engine no longer has it.
 * foreign: a container holds the name and is not ours.
 */
export type WorkspaceState = 'running' | 'stopped' | 'missing' | 'drifted' | 'foreign';

export interface WorkspaceSummary {
  id: string;
  runtime: RuntimeKind;
  state: WorkspaceState;
  container: string;
  image: string | null;
  ip: string | null;
  root: string | null;
}

/** What gc would do (dry run) or did (--yes). */
export interface GcReport {
  /** Containers with our labels and a ledger entry whose workspace folder is gone. */
  containers: { name: string; workspace: string | null; root: string | null; reason: string }[];
  /** Ledger entries whose container no longer exists; only Berth's own records change. */
  forgotten: { name: string; workspace: string | null }[];
  applied: boolean;
}

export interface BerthEvents {
  event: [BerthEvent];
}

/**
 * Berth in-process: what the CLI uses, and what an app (Electron, an agent host) embeds.
 * Every operation is typed; every change is also an `event`, kept in the store's event log.
 */
export class Berth extends EventEmitter<BerthEvents> {
  readonly home: string;
  readonly runtime: Runtime;
  readonly selection: RuntimeSelection;
  readonly owner: string;
  readonly store: Store;
  /** Dev servers in this installation's workspaces. */
  readonly dev: DevServerManager;
  private readonly workspaces: WorkspaceManager;

  constructor(
    runtime: Runtime,
    selection: RuntimeSelection,
    options: { home: string; owner: string; env: NodeJS.ProcessEnv; userHome: string; store: Store },
  ) {
    super();
    this.home = options.home;
    this.runtime = runtime;
    this.selection = selection;
    this.owner = options.owner;
    this.store = options.store;
    this.workspaces = new WorkspaceManager({
      runtime,
      owner: options.owner,
      berthHome: options.home,
      userHome: options.userHome,
      env: options.env,
      ledger: options.store,
      emit: (input) => this.record(input),
    });
    this.dev = new DevServerManager({
      runtime,
      store: options.store,
      emit: (input) => this.record(input),
      resolve: async (workspace) => {
        const target = await this.ownedName(workspace);
        const container = await this.onContainer(workspace, (t) => runtime.inspect(t));
        if (container.state !== 'running') {
          throw new BerthError('E_NOT_RUNNING', `Workspace "${workspace}" is not running.`, { hint: `Start it with \`berth up ${workspace}\`.` });
        }
        // Inside a container the logs live in its /tmp; in host mode, under Berth's own folder.
        const stateDir = runtime.capabilities.isolation ? '/tmp/berth-dev' : join(this.home, 'dev', workspace);
        return { target, ip: container.ip, ports: container.ports, stateDir };
      },
    });
  }

  /**
   * Brings the workspace up: creates, starts, reuses or recreates its container as needed. Without
   * a spec, an existing workspace comes up as last declared (its recorded spec), a new one with the
   * defaults.
   */
  async up(id: string, spec?: WorkspaceSpecInput): Promise<EnsureResult> {
    const result = await this.workspaces.ensure(id, spec ?? this.recordedSpecOf(id) ?? {});
    if (result.action !== 'reused') this.devServersGone(id, `the workspace was ${result.action}`);
    return result;
  }

  /**
   * What the planner needs to know of the workspaces on this runtime: containers from one list (plus
   * one look per declared name that is not ours, to see a foreign one), images once each, the ledger,
   * egress records and the dev-server registry. Desired hashes are computed exactly as ensure() does.
   */
  async observeFor(declared: readonly { id: string; spec: WorkspaceSpecInput; devServers: readonly { name: string; command: readonly string[] }[] }[], removable: ReadonlySet<string>): Promise<{ desired: DesiredWorkspace[]; observed: ObservedWorkspace[] }> {
    const ours = await this.runtime.list({ labels: { [LABELS.managed]: 'true', [LABELS.owner]: this.owner } });
    const ledgered = new Set(this.ledgerEntries().map((e) => e.workspace));
    const imageIds = new Map<string, Promise<string | null>>();
    const desired: DesiredWorkspace[] = [];
    const observed: ObservedWorkspace[] = [];
    for (const item of declared) {
      const spec = normalizeSpec(item.spec);
      const imageId = this.runtime.capabilities.images ? await this.imageId(spec.image, imageIds) : null;
      if (this.runtime.capabilities.images && imageId === null) {
        throw new BerthError('E_NOT_FOUND', `The image "${spec.image}" of workspace ${item.id} is not in ${this.runtime.kind}.`, { hint: `Build or pull it, then plan again.` });
      }
      desired.push({ id: item.id, specHash: this.workspaces.hashFor(item.id, spec, imageId), egress: spec.egress, devServers: item.devServers });
    }
    const names = new Set([...declared.map((d) => d.id), ...removable]);
    for (const id of names) {
      const container = ours.find((c) => c.labels[LABELS.workspace] === id) ?? (await this.runtime.inspect(containerNameFor(id)).catch(() => null));
      observed.push({
        id,
        container: container === null ? null : { state: container.state, specHash: container.labels[LABELS.specHash] ?? null, ours: isOwnedBy(container.labels, this.owner) },
        ledgered: ledgered.has(id) && removable.has(id),
        egress: this.store.egress(id)[0]?.policy ?? null,
        devServers: this.store.devServers(id).map((s) => ({ name: s.name, command: s.command, live: s.state === 'starting' || s.state === 'running' })),
      });
    }
    return { desired, observed };
  }

  /** Replaces a workspace's whole egress policy (the applier's set-egress). */
  setEgress(id: string, policy: EgressPolicy): void {
    const record = this.store.egress(id)[0];
    if (!record) throw new BerthError('E_NOT_FOUND', `Workspace "${id}" has no egress control.`, { hint: 'Declare egress when it is created.' });
    validatePolicy(policy);
    this.store.putEgress({ ...record, policy });
    this.record({ type: 'egress.policy-changed', workspace: id, message: `Egress policy of ${id} set by apply.`, data: { ...policy } });
  }

  /** The spec a workspace was last brought up with, if Berth knows it. */
  recordedSpecOf(id: string): WorkspaceSpecInput | undefined {
    const entry = this.ledgerEntries().find((e) => e.workspace === id);
    const spec = entry ? recordedSpec(entry) : null;
    if (!spec) return undefined;
    return {
      root: spec.root,
      image: spec.image,
      mounts: spec.mounts,
      env: spec.env,
      cpus: spec.cpus ?? undefined,
      memory: spec.memoryBytes ?? undefined,
      allowSensitiveMounts: spec.allowSensitiveMounts,
      previewPorts: spec.previewPorts ?? undefined,
      egress: spec.egress ?? undefined,
    };
  }

  /** The workspace's egress settings and whether the network enforces them. */
  egress(id: string): { policy: EgressPolicy; enforced: boolean; network: string | null; proxy: string } | null {
    validateWorkspaceId(id);
    const record = this.store.egress(id)[0];
    if (!record) return null;
    return { policy: record.policy, enforced: record.network !== null, network: record.network, proxy: `${record.proxyHost}:${String(record.proxyPort)}` };
  }

  /** Changes a workspace's rules at runtime: the proxy applies them on the next connection. */
  changeEgress(id: string, change: { allow?: string; deny?: string; revoke?: string }): EgressPolicy {
    validateWorkspaceId(id);
    const record = this.store.egress(id)[0];
    if (!record) {
      throw new BerthError('E_NOT_FOUND', `Workspace "${id}" has no egress control.`, { hint: `Bring it up with rules: \`berth up ${id} --allow registry.npmjs.org\`.` });
    }
    const without = (list: readonly string[], pattern: string | undefined): string[] => list.filter((p) => p !== pattern);
    const add = (list: string[], pattern: string | undefined): string[] => (pattern === undefined ? list : [...new Set([...list, pattern])].sort());
    const policy: EgressPolicy = {
      allow: add(without(record.policy.allow, change.revoke ?? change.deny), change.allow),
      deny: add(without(record.policy.deny, change.revoke ?? change.allow), change.deny),
    };
    validatePolicy(policy);
    this.store.putEgress({ ...record, policy });
    // The recorded spec follows, so a later `berth up` keeps the change instead of undoing it.
    const entry = this.ledgerEntries().find((e) => e.workspace === id);
    const spec = entry ? recordedSpec(entry) : null;
    if (entry && spec) this.store.recordDesired(this.runtime.kind, entry.name, { ...spec, egress: policy });
    this.record({ type: 'egress.policy-changed', workspace: id, message: `Egress policy of ${id}: allow ${policy.allow.join(', ') || '(nothing)'}; deny ${policy.deny.join(', ') || '(nothing)'}.`, data: { ...policy } });
    return policy;
  }

  /** Runs a command in the workspace (cwd /workspace, the workspace env); the exit code comes back. */
  exec(id: string, argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    return this.onContainer(id, (target) => this.runtime.exec(target, argv, options));
  }

  /** An interactive command attached to this terminal; resolves to its exit code. */
  async execInteractive(id: string, argv: readonly string[], options: InteractiveExecOptions = {}): Promise<number> {
    return execInWorkspace(this.runtime, id, await this.ownedName(id), argv, options);
  }

  copyIn(id: string, hostPath: string, containerPath: string): Promise<void> {
    return this.onContainer(id, (target) => this.runtime.copyIn(target, hostPath, containerPath));
  }

  copyOut(id: string, containerPath: string, hostPath: string): Promise<void> {
    return this.onContainer(id, (target) => this.runtime.copyOut(target, containerPath, hostPath));
  }

  logs(id: string, options: LogsOptions = {}): Promise<LogsResult> {
    return this.onContainer(id, (target) => this.runtime.logs(target, options));
  }

  async stop(id: string): Promise<void> {
    await this.workspaces.stop(id);
    this.devServersGone(id, 'the workspace was stopped');
  }

  async remove(id: string): Promise<void> {
    await this.workspaces.remove(id);
    this.devServersGone(id, 'the workspace was removed');
  }

  /** A workspace's processes end with its container: its live dev servers are stopped, on record too. */
  private devServersGone(id: string, why: string): void {
    for (const server of this.store.devServers(id)) {
      if (server.state !== 'starting' && server.state !== 'running') continue;
      this.store.putDevServer({ ...server, state: 'stopped', url: null, pgid: null, bridgePgid: null, bridgeSlot: null });
      this.record({ type: 'devserver.stopped', workspace: id, message: `Dev server ${server.name} stopped: ${why}.`, data: { name: server.name } });
    }
  }

  /** One workspace, including the states an engine alone cannot tell (missing, drifted, foreign). */
  async status(id: string): Promise<WorkspaceSummary> {
    validateWorkspaceId(id);
    const name = containerNameFor(id);
    const entry = this.ledgerEntries().find((e) => e.name === name);
    const container = await this.runtime.inspect(name).catch((error: unknown) => {
      if (isBerthError(error, 'E_NOT_FOUND')) return null;
      throw error;
    });
    if (container === null && entry === undefined) {
      throw new BerthError('E_NOT_FOUND', `No workspace "${id}" on ${this.runtime.kind}.`, {
        hint: `Create it with \`berth up ${id}\` (or check --runtime).`,
      });
    }
    return this.summarize(name, container, entry, new Map());
  }

  /** This installation's workspaces on the selected runtime: one engine list, plus one image lookup per image. */
  async list(): Promise<WorkspaceSummary[]> {
    const containers = await this.runtime.list({ labels: { [LABELS.managed]: 'true', [LABELS.owner]: this.owner } });
    const entries = this.ledgerEntries();
    const imageIds = new Map<string, Promise<string | null>>();
    const summaries: WorkspaceSummary[] = [];
    for (const container of containers) {
      summaries.push(await this.summarize(container.name, container, entries.find((e) => e.name === container.name), imageIds));
    }
    for (const entry of entries.filter((e) => !containers.some((c) => c.name === e.name))) {
      // Not among ours: gone (missing), or someone else's container took the name (foreign).
      const container = await this.runtime.inspect(entry.name).catch(() => null);
      summaries.push(await this.summarize(entry.name, container, entry, imageIds));
    }
    return summaries.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /**
   * Conservative cleanup: removes only containers that carry our labels AND are in our ledger AND
   * whose workspace folder is gone. A dry run unless `apply` is set; either way it says what.
   */
  async gc(options: { apply?: boolean } = {}): Promise<GcReport> {
    const containers = await this.runtime.list({ labels: { [LABELS.managed]: 'true', [LABELS.owner]: this.owner } });
    const entries = this.ledgerEntries();
    const report: GcReport = { containers: [], forgotten: [], applied: options.apply ?? false };
    for (const container of containers) {
      const entry = entries.find((e) => e.name === container.name && (e.resourceId === null || e.resourceId === container.id));
      const root = entry ? recordedSpec(entry)?.root ?? null : null;
      if (!entry || root === null || existsSync(root)) continue;
      report.containers.push({ name: container.name, workspace: entry.workspace, root, reason: `its workspace folder ${root} is gone` });
    }
    for (const entry of entries.filter((e) => !containers.some((c) => c.name === e.name))) {
      const stillThere = await this.runtime.inspect(entry.name).then(
        (c) => isOwnedBy(c.labels, this.owner),
        () => false,
      );
      if (!stillThere) report.forgotten.push({ name: entry.name, workspace: entry.workspace });
    }
    if (!report.applied) return report;
    for (const { name, workspace } of report.containers) {
      await this.runtime.remove(name, { force: true });
      this.store.markRemoved(this.runtime.kind, 'container', name);
      this.record({ type: 'gc.removed', workspace: workspace ?? undefined, message: `gc removed ${name}: its workspace folder is gone.` });
    }
    for (const { name, workspace } of report.forgotten) {
      this.store.markRemoved(this.runtime.kind, 'container', name);
      this.record({ type: 'gc.forgotten', workspace: workspace ?? undefined, message: `gc closed the ledger entry of ${name}: the container no longer exists.` });
    }
    return report;
  }

  /** The event log, oldest first. */
  events(query: Parameters<Store['events']>[0] = {}): StoredEvent[] {
    return this.store.events(query);
  }

  close(): void {
    this.store.close();
  }

  /** Runs an operation on the workspace's own container, saying "workspace gone" in workspace terms. */
  private async onContainer<T>(id: string, operation: (target: string) => Promise<T>): Promise<T> {
    const target = await this.ownedName(id);
    try {
      return await operation(target);
    } catch (error) {
      return rethrowIfGone(error, this.runtime, id, target);
    }
  }

  /**
   * The engine address of the workspace's container: the id our ledger recorded when Berth made it,
   * which no foreign container can share, at no engine call. Without a ledger entry (made
   * elsewhere), the container is inspected and its labels must say it is ours.
   */
  private async ownedName(id: string): Promise<string> {
    validateWorkspaceId(id);
    const entry = this.ledgerEntries().find((e) => e.workspace === id && e.resourceId !== null);
    return entry?.resourceId ?? (await this.workspaces.ownedContainer(id)).name;
  }

  private ledgerEntries(): LedgerEntry[] {
    return this.store.activeEntries(this.runtime.kind).filter((e) => e.kind === 'container');
  }

  private async summarize(
    name: string,
    container: ContainerInfo | null,
    entry: LedgerEntry | undefined,
    imageIds: Map<string, Promise<string | null>>,
  ): Promise<WorkspaceSummary> {
    const spec = entry ? recordedSpec(entry) : null;
    const id = container?.labels[LABELS.workspace] ?? entry?.workspace ?? name.replace(/^berth-/, '');
    const summary = (state: WorkspaceState): WorkspaceSummary => ({
      id,
      runtime: this.runtime.kind,
      state,
      container: name,
      image: container?.image ?? spec?.image ?? null,
      ip: container?.ip ?? null,
      root: container?.labels[LABELS.root] ?? spec?.root ?? null,
    });
    if (container === null) return summary('missing');
    if (!isOwnedBy(container.labels, this.owner)) return summary('foreign');
    if (spec !== null) {
      const imageId = this.runtime.capabilities.images ? await this.imageId(spec.image, imageIds) : null;
      if (this.workspaces.hasDrifted(id, container, spec, imageId)) return summary('drifted');
    }
    return summary(container.state === 'running' ? 'running' : 'stopped');
  }

  private imageId(ref: string, cache: Map<string, Promise<string | null>>): Promise<string | null> {
    let id = cache.get(ref);
    if (id === undefined) {
      id = this.runtime.imageInspect(ref).then(
        (image) => image.id,
        () => null,
      );
      cache.set(ref, id);
    }
    return id;
  }

  /** Records an event: in the event log, and to every `event` listener. */
  record(input: BerthEventInput): void {
    const event = stampEvent(input);
    this.store.appendEvent(event);
    this.emit('event', event);
  }
}

function recordedSpec(entry: LedgerEntry): WorkspaceSpec | null {
  const spec = entry.spec as Partial<WorkspaceSpec> | null;
  return spec && typeof spec.root === 'string' && typeof spec.image === 'string' ? (spec as WorkspaceSpec) : null;
}

/** Opens Berth: reads $BERTH_HOME, picks the runtime (flag > BERTH_RUNTIME > config > detection). */
export async function createBerth(options: BerthOptions = {}): Promise<Berth> {
  const env = options.env ?? process.env;
  const home = options.home ?? berthHome(env);
  const config = loadConfig(home);
  const store = Store.open(home);
  const ledgerRuntime = options.workspace === undefined ? undefined : store.runtimeOf(containerNameFor(options.workspace));
  const selection = await selectRuntime({ flag: options.runtime, configRuntime: config.runtime, ledgerRuntime, env });
  const runtime = await createRuntime(selection.kind, { home, env });
  return new Berth(runtime, selection, { home, owner: installationId(home), env, userHome: options.userHome ?? homedir(), store });
}
