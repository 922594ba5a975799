import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { homedir } from 'node:os';
import { appleAutostart, berthHome, loadConfig } from './config.js';
import { BerthError, isBerthError } from './errors.js';
import { stampEvent, type RecordedEvent, type BerthEventInput, type StoredBerthEvent } from './events.js';
import type { BerthApi, DevApi, EgressChange, EventFilter, EventsApi, ListFilter } from './api.js';
import { followEvents, toEventQuery } from './state/follow-events.js';
import { createRuntime, selectRuntime, type RuntimeSelection } from './runtime/select.js';
import type { ExecEncoding, ExecOptions, ExecResult, InteractiveExecOptions, LogsOptions, LogsResult, Runtime } from './runtime/types.js';
import { Store } from './state/store.js';
import { WorkspaceManager, type EnsureResult } from './workspace/ensure.js';
import { execInWorkspace, rethrowIfGone } from './workspace/exec.js';
import { execCancellable } from './workspace/exec-cancel.js';
import { WorkspaceFiles } from './workspace/files.js';
import type { PtyHandle, PtyOptions } from './workspace/pty.js';
import { loginShell } from './workspace/shell-profile.js';
import { listProcesses, processSite, spawnProcess, type ProcessHandle, type SpawnOptions } from './workspace/processes.js';
import { DevServerManager } from './devserver/manager.js';
import { validatePolicy, type EgressPolicy } from './egress/policy.js';
import { EgressService } from './egress/service.js';
import { keepShield, type ShieldResult } from './egress/host-shield.js';
import { installationId } from './workspace/installation.js';
import { Inventory, recordedSpec, type WorkspaceSummary } from './workspace/inventory.js';
import { upAndReport, type EgressView, type UpReport } from './workspace/up-report.js';
import { patchSpec, type WorkspaceSpecInput } from './workspace/spec.js';
import { matchesLabels } from './workspace/label-filter.js';
import './dispose-symbol.js';
import type { HookName } from './devcontainer/lifecycle.js';
import type { DevcontainerPlan, HookRun } from './workspace/devcontainer-up.js';
import type { ComposeProject } from './workspace/devcontainer-compose.js';
import type { GcReport } from './orchestrator/gc.js';
import type { Target } from './orchestrator/target.js';
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

export type { WorkspaceState, WorkspaceSummary } from './workspace/inventory.js';
export type { GcReport } from './orchestrator/gc.js';

export interface BerthEvents {
  event: [RecordedEvent];
}

/**
 * Berth in-process: what the CLI uses, and what an app (Electron, an agent host) embeds.
 * Every operation is typed; every change is also an `event`, kept in the store's event log.
 */
export class Berth extends EventEmitter<BerthEvents> implements BerthApi {
  readonly via = 'in-process' as const;
  readonly home: string;
  /** The environment the engine CLIs run with (DOCKER_HOST, CONTAINERS_CONF): the compose tool's too. */
  private readonly env: NodeJS.ProcessEnv;
  readonly runtime: Runtime;
  readonly selection: RuntimeSelection;
  readonly owner: string;
  readonly store: Store;
  /** Dev servers in this installation's workspaces (`DevApi`, plus the manager's own helpers). */
  readonly dev: DevServerManager & DevApi;
  /** Files anywhere in a workspace's filesystem, bytes-safe (workspace/files.ts). */
  readonly files: WorkspaceFiles;
  /** The event log: `await berth.events({ after })`, `for await (const e of berth.events.follow())`. */
  readonly events: EventsApi;
  /** The work in flight, which close() ends and waits for. */
  private readonly inFlight = new Set<Promise<unknown>>();
  /** Aborted by close(): what is in flight sees it (exec ends its command, follow ends). */
  private readonly closing = new AbortController();
  private closed: Promise<void> | null = null;
  private readonly workspaces: WorkspaceManager;
  private readonly inventory: Inventory;
  /** The egress proxy, when this process serves it (the daemon, or an app that called serveEgress). */
  private egressServer: EgressServer | null = null;

  constructor(
    runtime: Runtime,
    selection: RuntimeSelection,
    options: { home: string; owner: string; env: NodeJS.ProcessEnv; userHome: string; store: Store },
  ) {
    super();
    this.home = options.home;
    this.env = options.env;
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
      store: options.store,
      emit: (input) => this.record(input),
    });
    this.files = new WorkspaceFiles(runtime, (id, operation) => this.onContainer(id, operation));
    this.inventory = new Inventory({ runtime, ledger: options.store.ledger, owner: options.owner, workspaces: this.workspaces });
    const manager = new DevServerManager({
      runtime,
      registry: options.store.devServers,
      supervision: options.store.supervision,
      emit: (input) => this.record(input),
      exclusively: (workspace, role, work, onWait) => this.workspaces.exclusively(workspace, role, work, onWait),
      resolve: async (workspace) => {
        const target = await this.ownedName(workspace);
        const container = await this.onContainer(workspace, (t) => runtime.inspect(t));
        if (container.state !== 'running') {
          throw new BerthError('E_NOT_RUNNING', `Workspace "${workspace}" is not running.`, { hint: `Start it with \`berth up ${workspace}\`.` });
        }
        // Inside a container the logs live in its /tmp; in host mode, under Berth's own folder.
        const stateDir = runtime.capabilities.isolation === 'container' ? '/tmp/berth-dev' : join(this.home, 'dev', workspace);
        // Behind a host shield (an internal docker/podman network) published ports do not forward:
        // previews go to the container's address, which the shield lets answer the host.
        const ports = this.store.egress.egress(workspace)[0]?.bridge == null ? container.ports : [];
        return { target, ip: container.ip, ports, stateDir, fence: this.workspaces.egress.execFence(workspace) };
      },
    });
    this.dev = this.guardedMethods(manager);
    this.events = Object.assign((filter: EventFilter = {}) => this.guard(() => Promise.resolve(this.eventLog(filter))), {
      follow: (filter: Omit<EventFilter, 'limit'> = {}, options: { signal?: AbortSignal | undefined } = {}) =>
        followEvents(this.store.events, filter, { signal: AbortSignal.any([this.closing.signal, ...(options.signal ? [options.signal] : [])]), wake: (listener) => (this.on('event', listener), () => this.off('event', listener)) }),
    });
  }

  /**
   * Brings the workspace up: creates, starts, reuses or recreates its container as needed, and
   * reports it. Of an existing workspace, `spec` is a patch over the spec last declared (fields left
   * out keep their value: `up(id, { root })` keeps the image); without one it comes up as last
   * declared; a new one gets the defaults for what `spec` leaves out. Interrupted by close(), it
   * rejects with E_ABORTED and removes the container it made.
   */
  up(id: string, spec?: WorkspaceSpecInput): Promise<UpReport> {
    return this.guard(async () => {
      const made: EnsureResult[] = [];
      const source = {
        runtime: this.runtime,
        up: async (wid: string, wspec?: WorkspaceSpecInput) => {
          const result = await this.ensure(wid, wspec, 'patch');
          made.push(result);
          return result;
        },
        status: (wid: string) => this.inventory.status(wid),
        egress: (wid: string) => this.egressView(wid),
        on: this.on.bind(this),
        off: this.off.bind(this),
      };
      try {
        const report = await upAndReport(source, id, spec);
        if (this.closing.signal.aborted) throw closedDuring('up', id);
        return report;
      } catch (error) {
        if (this.closing.signal.aborted) {
          // What this up made does not outlive it: an app that closes mid-up finds no container left.
          if (made.some((r) => r.action === 'created' || r.action === 'recreated')) await this.workspaces.remove(id).catch(() => undefined);
          throw isBerthError(error, 'E_ABORTED') ? error : closedDuring('up', id, error);
        }
        throw error;
      }
    });
  }

  /**
   * The engine side of `up`, as the orchestrator drives it: the spec patched over the recorded one,
   * ensured, the supervision and the dev servers told, the proxy (if served here) applied.
   */
  private async ensure(id: string, spec: WorkspaceSpecInput | undefined, mode: 'patch' | 'replace'): Promise<EnsureResult> {
    const recorded = this.recordedSpec(id);
    // The orchestrator declares whole specs (a field gone from the manifest is gone): it replaces.
    const input = spec === undefined ? (recorded ? patchSpec(recorded, {}) : {}) : recorded && mode === 'patch' ? patchSpec(recorded, spec) : spec;
    const result = await this.workspaces.ensure(id, input);
    this.store.supervision.setHeld(id, '', false);
    if (result.action !== 'reused') this.dev.markGone(id, `the workspace was ${result.action}`);
    // Served here: `up` returns once the workspace's proxy listener accepts, with its rules.
    await this.egressServer?.apply(id);
    return result;
  }

  /**
   * Brings a workspace up from a folder's devcontainer.json: reads it (refusing what would not run
   * as written), builds its Dockerfile unless an image of the same content is there, ensures the
   * container (an edited config or Dockerfile is drift), then runs its lifecycle hooks: the create
   * hooks once per container (markers in Berth's state), postStart on every start.
   */
  async upDevcontainer(id: string, options: UpDevcontainerOptions): Promise<DevcontainerUpResult> {
    const { readDevcontainer, requireRunnable } = await import('./devcontainer/read.js');
    const { planDevcontainer, runHooks } = await import('./workspace/devcontainer-up.js');
    const read = requireRunnable(readDevcontainer({ workspaceFolder: options.root, config: options.config }));
    const plan = planDevcontainer(read, { root: read.localWorkspaceFolder, base: options.base, runInitializeCommand: options.runInitializeCommand });
    if (plan.initialize !== null) {
      const { runInitializeCommand } = await import('./workspace/devcontainer-up.js');
      this.record({ type: 'devcontainer.hook', workspace: id, level: 'warn', message: 'initializeCommand runs on this machine (opted in).', data: { hook: 'initializeCommand', name: null, exitCode: 0, output: '' } });
      await runInitializeCommand(plan.initialize, read.localWorkspaceFolder, (run) => this.reportHook(id, run, options.onHook));
    }
    if (plan.build !== null) {
      const present = await this.runtime.imageInspect(plan.build.tag).then(
        () => true,
        () => false,
      );
      if (!present) {
        this.record({ type: 'devcontainer.build', workspace: id, message: `Building ${plan.build.tag} from ${plan.build.dockerfile}.`, data: { tag: plan.build.tag } });
        await this.runtime.buildImage({ ...plan.build, labels: { 'berth.devcontainer': read.file }, timeoutMs: 30 * 60_000, onOutput: options.onBuildOutput });
      }
    }
    const compose = plan.compose ? await this.composeUp(id, plan.compose, options.onBuildOutput) : null;
    if (compose && plan.input.devcontainer) plan.input.devcontainer.compose = compose;
    // The devcontainer.json declares the whole spec: it replaces what was recorded (an edit is drift).
    const result = await this.guard(() => this.ensure(id, plan.input, 'replace'));
    if (compose) await (await import('./workspace/devcontainer-compose.js')).joinProjectNetwork(this.engineBinary(), this.env, compose, result.container.name);
    const hooks = await runHooks(plan, {
      workspace: id,
      containerId: result.container.id,
      action: result.action,
      exec: (argv, execOptions) => this.exec(id, argv, execOptions),
      markers: this.store.hookMarkers,
      onHook: (run) => this.reportHook(id, run, options.onHook),
    });
    return { ...result, devcontainer: { file: read.file, warnings: read.warnings.map((w) => `${w.path}: ${w.message} (line ${String(w.line)})`), notes: plan.notes, hooks, workspaceFolder: plan.workspaceFolder, user: plan.user } };
  }

  /**
   * A shell attaches (`berth shell`, `pty()` without a command): the devcontainer's
   * postAttachCommand runs first, as the other hooks do (user, folder, remoteEnv). Its failure is
   * reported and does not keep the shell from opening. Nothing to do for other workspaces.
   */
  async runAttachHooks(id: string, onHook?: (run: HookRun) => void): Promise<HookRun[]> {
    const attach = this.recordedSpec(id)?.devcontainer?.postAttach;
    if (!attach) return [];
    const { runAttachHook } = await import('./workspace/devcontainer-up.js');
    return runAttachHook(attach, (argv, execOptions) => this.exec(id, argv, execOptions), (run) => this.reportHook(id, run, onHook));
  }

  /** The compose project's other services up (the workspace's service is Berth's own container). */
  private async composeUp(id: string, compose: NonNullable<DevcontainerPlan['compose']>, onOutput: ((chunk: Buffer) => void) | undefined): Promise<ComposeProject> {
    const { composeProject, composeUp, findComposeTool } = await import('./workspace/devcontainer-compose.js');
    const tool = await findComposeTool(this.runtime.kind, this.engineBinary(), this.env);
    const project = composeProject({ tool, workspace: id, owner: this.owner, home: this.home, ...compose });
    this.record({ type: 'devcontainer.build', workspace: id, message: `Starting compose services ${compose.others.join(', ') || '(none)'} of project ${project.project}.`, data: { tag: project.project } });
    await composeUp(project, this.env, onOutput);
    return project;
  }

  /** Stops or removes the compose services that serve a workspace, if it has any. */
  private async composeAfter(compose: ComposeProject | undefined, action: 'stop' | 'down'): Promise<void> {
    if (!compose) return;
    const { composeDown, composeStop } = await import('./workspace/devcontainer-compose.js');
    await (action === 'stop' ? composeStop(compose, this.env) : composeDown(compose, this.env, this.engineBinary()));
  }

  /** The engine CLI the runtime runs (docker/podman), for the compose tool and its network. */
  private engineBinary(): string {
    const binary = (this.runtime as { binary?: unknown }).binary;
    return typeof binary === 'string' ? binary : this.runtime.kind;
  }

  private reportHook(id: string, run: HookRun, onHook: ((run: HookRun) => void) | undefined): void {
    const label = run.name === null ? run.hook : `${run.hook} ${run.name}`;
    this.record({ type: 'devcontainer.hook', workspace: id, level: run.exitCode === 0 ? 'info' : 'error', message: `${label}: exit ${String(run.exitCode)}.`, data: { hook: run.hook, name: run.name, exitCode: run.exitCode, output: run.output.slice(-4096) } });
    onHook?.(run);
  }

  /**
   * Serves the egress proxy of every egress workspace of this home in this process, for apps that
   * want no daemon (the daemon serves it the same way). From then on `up` and egress changes
   * return only once the proxy applies them. Close it with `close()` on the result, before Berth's.
   */
  async serveEgress(): Promise<EgressServer> {
    if (this.egressServer === null) {
      const server = new EgressService(this.store);
      await server.start();
      this.egressServer = server;
    }
    return this.egressServer;
  }

  /** Makes the serving proxy (if it is this process's) apply what the store says now. */
  private async applyEgress(id?: string): Promise<void> {
    await this.egressServer?.apply(id);
  }

  /**
   * This Berth's pieces as the orchestrator works on them (plan, apply, reconcile, health): its
   * runtime, the store's tables, the workspace effects below, its dev servers, its event log.
   */
  orchestratorTarget(): Target {
    return {
      runtime: this.runtime,
      owner: this.owner,
      workspaces: {
        up: (id, spec) => this.ensure(id, spec, 'replace'),
        restart: (id, spec) => this.restart(id, spec),
        remove: (id) => this.remove(id),
        setEgress: (id, policy) => this.setEgress(id, policy),
        restoreShield: (id) => this.restoreShield(id),
        desiredHash: (id, spec, imageId) => this.workspaces.desiredHash(id, spec, imageId),
      },
      dev: this.dev,
      ledger: this.store.ledger,
      egress: this.store.egress,
      devServers: this.store.devServers,
      desired: this.store.declared,
      supervision: this.store.supervision,
      record: (event) => this.record(event),
    };
  }

  /** Replaces a workspace's whole egress policy (the applier's set-egress); in force when it returns, where served here. */
  async setEgress(id: string, policy: EgressPolicy): Promise<void> {
    const record = this.store.egress.egress(id)[0];
    if (!record) throw new BerthError('E_NOT_FOUND', `Workspace "${id}" has no egress control.`, { hint: 'Declare egress when it is created.' });
    validatePolicy(policy);
    this.workspaces.egress.replacePolicy(record, policy);
    await this.applyEgress(id);
  }

  /** The spec a workspace was last brought up with, if Berth knows it. */
  recordedSpecOf(id: string): WorkspaceSpecInput | undefined {
    const spec = this.recordedSpec(id);
    return spec ? patchSpec(spec, {}) : undefined;
  }

  private recordedSpec(id: string): ReturnType<typeof recordedSpec> {
    const entry = this.inventory.containerEntries().find((e) => e.workspace === id);
    return entry ? recordedSpec(entry) : null;
  }

  /** The workspace's egress settings and whether the network enforces them; null without egress control. */
  egress(id: string): Promise<EgressView | null> {
    return this.guard(() => Promise.resolve(this.egressView(id)));
  }

  /** `egress(id)`, at once (no engine call): for the daemon's handlers and `up`'s report. */
  egressView(id: string): EgressView | null {
    validateWorkspaceId(id);
    const record = this.store.egress.egress(id)[0];
    if (!record) return null;
    return { policy: record.policy, enforced: record.network !== null, network: record.network, proxy: `${record.proxyHost}:${String(record.proxyPort)}` };
  }

  /**
   * Checks the host shield of a workspace's egress network and puts it back where it went (the
   * reconciler's restore-shield, doctor --fix). Null where the workspace has no such shield.
   */
  async restoreShield(id: string): Promise<ShieldResult | null> {
    validateWorkspaceId(id);
    return keepShield(this.store.egress.egress(id)[0], (event) => this.record(event));
  }

  /**
   * Changes a workspace's rules at runtime, without touching the workspace. Where this process
   * serves the proxy, the change is in force when the promise resolves; a proxy served elsewhere
   * (the daemon) is told by whoever made the change through it.
   */
  changeEgress(id: string, change: EgressChange | { allow?: string; deny?: string; revoke?: string }): Promise<EgressPolicy> {
    return this.guard(() => this.changeEgressNow(id, change as { allow?: string; deny?: string; revoke?: string }));
  }

  private async changeEgressNow(id: string, change: { allow?: string; deny?: string; revoke?: string }): Promise<EgressPolicy> {
    validateWorkspaceId(id);
    const record = this.store.egress.egress(id)[0];
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
    this.workspaces.egress.replacePolicy(record, policy);
    // The recorded spec follows, so a later `berth up` keeps the change instead of undoing it.
    const entry = this.inventory.containerEntries().find((e) => e.workspace === id);
    const spec = entry ? recordedSpec(entry) : null;
    if (entry && spec) this.store.ledger.recordDesired(this.runtime.kind, entry.name, { ...spec, egress: policy });
    await this.applyEgress(id);
    return policy;
  }

  /**
   * Runs a command in the workspace (cwd /workspace, the workspace env); the exit code comes back.
   * `onStdout`/`onStderr` get the output as it comes; `stdin` is written (a stream: piped), then
   * closed; `encoding: 'buffer'` gives the bytes as they came. A timeout or abort ends the command inside the workspace too, then rejects with E_TIMEOUT or
   * E_ABORTED.
   */
  exec(id: string, argv: readonly string[], options: ExecOptions<'buffer'> & { encoding: 'buffer' }): Promise<ExecResult<Buffer>>;
  exec(id: string, argv: readonly string[], options?: ExecOptions<'utf8'>): Promise<ExecResult>;
  exec(id: string, argv: readonly string[], options?: ExecOptions<ExecEncoding>): Promise<ExecResult | ExecResult<Buffer>>;
  exec(id: string, argv: readonly string[], options: ExecOptions<ExecEncoding> = {}): Promise<ExecResult<string | Buffer>> {
    // close() ends the command in the workspace as an abort does (E_ABORTED).
    const signal = AbortSignal.any([this.closing.signal, ...(options.signal ? [options.signal] : [])]);
    return this.guard(() => this.onContainer(id, (target) => execCancellable(this.runtime, target, [...this.workspaces.egress.execFence(id), ...argv], { ...options, signal })));
  }

  /** An interactive command attached to this terminal; resolves to its exit code. */
  async execInteractive(id: string, argv: readonly string[], options: InteractiveExecOptions = {}): Promise<number> {
    return execInWorkspace(this.runtime, id, await this.ownedName(id), [...this.workspaces.egress.execFence(id), ...argv], options);
  }

  /**
   * A terminal in the workspace for an app's terminal view: the workspace's login shell with its
   * profile unless `command` says otherwise, behind the exec fence as every exec (workspace/pty.ts).
   */
  async pty(id: string, options: PtyOptions & { command?: readonly string[] | undefined; onAttachHook?: ((run: HookRun) => void) | undefined }): Promise<PtyHandle> {
    const { openPty } = await import('./workspace/pty.js');
    const { command, onAttachHook, ...rest } = options;
    // The login shell is an attach (a devcontainer's postAttachCommand runs); a given command is not.
    if (command === undefined) await this.runAttachHooks(id, onAttachHook);
    const argv = [...this.workspaces.egress.execFence(id), ...(command ?? loginShell(this.runtime.capabilities))];
    return this.onContainer(id, (target) => openPty(this.runtime, target, argv, rest));
  }

  /**
   * Starts a long-lived process in the workspace (an LSP server over stdio, a watcher): it, its
   * output (a bounded ring) and its exit status live in the workspace, so `processes(id)` on any
   * later Berth attaches to it again. Honours the exec fence, as exec does.
   */
  spawn(id: string, argv: readonly string[], options: SpawnOptions = {}): Promise<ProcessHandle> {
    return this.onContainer(id, (target) => spawnProcess(processSite(this.runtime, this.home, id, target, this.workspaces.egress.execFence(id)), argv, options));
  }

  /** The processes `spawn` started in the workspace (running, and the last ended ones), to attach to again. */
  processes(id: string): Promise<ProcessHandle[]> {
    return this.onContainer(id, (target) => listProcesses(processSite(this.runtime, this.home, id, target, [])));
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

  stop(id: string): Promise<void> {
    return this.guard(async () => {
      await this.workspaces.stop(id);
      await this.composeAfter(this.recordedSpec(id)?.devcontainer?.compose, 'stop');
      // Stopped on request: the reconciler's restart policy leaves it stopped until `up` or `apply`.
      this.store.supervision.setHeld(id, '', true);
      this.dev.markGone(id, 'the workspace was stopped');
    });
  }

  /** Stops and starts the workspace's container (a failed health probe); its dev servers end with it. */
  async restart(id: string, spec?: WorkspaceSpecInput): Promise<EnsureResult> {
    await this.workspaces.stop(id);
    this.dev.markGone(id, 'the workspace was restarted');
    return this.ensure(id, spec, 'replace');
  }

  remove(id: string): Promise<void> {
    return this.guard(async () => {
      const compose = this.recordedSpec(id)?.devcontainer?.compose;
      await this.workspaces.remove(id);
      // After the workspace: its container holds the project network until it is gone.
      await this.composeAfter(compose, 'down');
      this.dev.markGone(id, 'the workspace was removed');
      await this.applyEgress();
    });
  }

  /** One workspace, including the states an engine alone cannot tell (missing, drifted, foreign). */
  status(id: string): Promise<WorkspaceSummary> {
    return this.guard(() => this.inventory.status(id));
  }

  /**
   * This installation's workspaces on the selected runtime (one engine list, plus one image lookup
   * per image); `labels`: only those whose labels include every pair given.
   */
  list(filter: ListFilter = {}): Promise<WorkspaceSummary[]> {
    return this.guard(async () => (await this.inventory.list()).filter((w) => matchesLabels(w.labels, filter.labels)));
  }

  /**
   * Conservative cleanup: removes only containers that carry our labels AND are in our ledger AND
   * are no longer declared (by the manifest that declared them, else by a workspace folder that
   * still exists). A dry run unless `apply` is set; either way it says what.
   */
  async gc(options: { apply?: boolean } = {}): Promise<GcReport> {
    // Loaded when asked: gc reads manifests (yaml, zod), which no other command here needs.
    const { collectGarbage } = await import('./orchestrator/gc.js');
    return collectGarbage({ runtime: this.runtime, owner: this.owner, ledger: this.store.ledger, desired: this.store.declared, record: (event) => this.record(event) }, options);
  }

  /** The event log, oldest first, at once (the daemon's handlers); apps call `events(filter)`. */
  eventLog(filter: EventFilter & { afterSeq?: number | undefined } = {}): StoredBerthEvent[] {
    // The log holds what Berth's emitters wrote, whose types BerthEvent lists.
    return this.store.events.events(toEventQuery(filter)) as StoredBerthEvent[];
  }

  /**
   * Ends the work in flight and closes the store. Each operation in flight rejects with E_ABORTED
   * (an exec's command is ended in the workspace; an engine step already started, such as a
   * create, finishes, and an `up` removes the container it made); what is called after rejects
   * with E_CLOSED. A proxy served by serveEgress() is closed by its own `close()`, first.
   */
  close(): Promise<void> {
    this.closed ??= (async () => {
      this.closing.abort(new BerthError('E_ABORTED', 'Berth was closed.'));
      await Promise.allSettled([...this.inFlight]);
      this.egressServer = null;
      this.store.close();
    })();
    return this.closed;
  }

  /** `await using berth = await createBerth()`: closed when the block ends. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Runs one public operation: refused once closed, waited for by close(), E_ABORTED if close() came meanwhile. */
  private guard<T>(work: () => Promise<T>): Promise<T> {
    if (this.closed !== null) return Promise.reject(closedError());
    const running = (async () => {
      try {
        return await work();
      } catch (error) {
        if (this.closing.signal.aborted && !isBerthError(error, 'E_ABORTED', 'E_CLOSED')) throw closedDuring('an operation', undefined, error);
        throw error;
      }
    })();
    // Tracked without its rejection (the caller handles that): close() only waits for it to settle.
    const tracked: Promise<unknown> = running.catch(() => undefined).finally(() => this.inFlight.delete(tracked));
    this.inFlight.add(tracked);
    return running;
  }

  /** The dev-server manager with each of its async methods run through guard(). */
  private guardedMethods<T extends object>(target: T): T {
    return new Proxy(target, {
      get: (object, key, receiver) => {
        const value: unknown = Reflect.get(object, key, receiver);
        if (typeof value !== 'function' || !ASYNC_DEV_METHODS.has(String(key))) return value;
        return (...args: unknown[]) => this.guard(() => (value as (...a: unknown[]) => Promise<unknown>).apply(object, args));
      },
    });
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
    const entry = this.inventory.containerEntries().find((e) => e.workspace === id && e.resourceId !== null);
    return entry?.resourceId ?? (await this.workspaces.ownedContainer(id)).name;
  }

  /** Records an event: in the event log, and to every `event` listener. */
  record(input: BerthEventInput): void {
    const event = stampEvent(input);
    this.store.events.appendEvent(event);
    this.emit('event', event);
  }
}

/** The dev-server methods that reach the engine or wait: close() waits for them and refuses new ones. */
const ASYNC_DEV_METHODS = new Set(['start', 'stop', 'restart', 'list', 'logs', 'logPath', 'waitUntilReady', 'refresh', 'confirm']);

function closedError(): BerthError {
  return new BerthError('E_CLOSED', 'This Berth was closed.', { hint: 'Open a new one with createBerth() or openBerth().' });
}

function closedDuring(what: string, workspace: string | undefined, cause?: unknown): BerthError {
  const where = workspace === undefined ? '' : ` of ${workspace}`;
  return new BerthError('E_ABORTED', `Berth was closed during ${what}${where}.`, { hint: 'Call close() once your operations have settled, or run them again on a new Berth.', cause, details: { closed: true, ...(workspace === undefined ? {} : { workspace }) } });
}

/** The egress proxy served in an app's own process: what `serveEgress()` returns. */
export type EgressServer = Pick<EgressService, 'apply' | 'listening' | 'close'>;

/**
 * Serves the egress proxy of this Berth's home in this process, for apps that want no daemon; the
 * same as `berth.serveEgress()`. Close the result before the Berth.
 */
export function serveEgress(berth: Berth): Promise<EgressServer> {
  return berth.serveEgress();
}

/** Opens Berth: reads $BERTH_HOME, picks the runtime (flag > BERTH_RUNTIME > config > detection). */
export async function createBerth(options: BerthOptions = {}): Promise<Berth> {
  const env = options.env ?? process.env;
  const home = options.home ?? berthHome(env);
  const config = loadConfig(home);
  const store = Store.open(home);
  const ledgerRuntime = options.workspace === undefined ? undefined : store.ledger.runtimeOf(containerNameFor(options.workspace));
  const selection = await selectRuntime({ flag: options.runtime, configRuntime: config.runtime, ledgerRuntime, env });
  // A stopped Apple system is started by the runtime itself (unless BERTH_APPLE_AUTOSTART=0 or config
  // appleAutostart: false): the event log says so.
  const opened: { berth?: Berth } = {};
  const onSystemStarted = (message: string): void => opened.berth?.record({ type: 'runtime.system-started', message, data: { runtime: selection.kind } });
  const runtime = await createRuntime(selection.kind, { home, env, startSystem: appleAutostart(env, config), onSystemStarted });
  opened.berth = new Berth(runtime, selection, { home, owner: installationId(home), env, userHome: options.userHome ?? homedir(), store });
  return opened.berth;
}

export interface UpDevcontainerOptions {
  /** The folder that holds .devcontainer/ (mounted as the workspace). */
  root: string;
  /** A config path relative to root; default: the well-known places. */
  config?: string | undefined;
  /** cpus, memory, preview ports, egress... as `berth up` flags give them; they win over the file. */
  base?: WorkspaceSpecInput | undefined;
  onBuildOutput?: ((chunk: Buffer) => void) | undefined;
  onHook?: ((run: HookRun) => void) | undefined;
  /** Run the config's initializeCommand on this machine (it is the repository's code, unconfined). Default: refuse a config that has one. */
  runInitializeCommand?: boolean | undefined;
}

export interface DevcontainerUpResult extends EnsureResult {
  devcontainer: { file: string; warnings: string[]; notes: string[]; hooks: HookName[]; workspaceFolder: string; user: string | null };
}
