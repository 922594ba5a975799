import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { homedir } from 'node:os';
import { appleAutostart, berthHome, loadConfig } from './config.js';
import { BerthError, isBerthError } from './errors.js';
import { stampEvent, type RecordedEvent, type BerthEventInput, type StoredBerthEvent } from './events.js';
import type { BerthApi, DevApi, EgressChange, EventFilter, EventsApi, ListFilter } from './api.js';
import { followEvents, toEventQuery } from './state/follow-events.js';
import { createRuntime, selectRuntime, type RuntimeSelection } from './runtime/select.js';
import { isRuntimeKind, RUNTIME_KINDS, type RuntimeKind } from './runtime/kinds.js';
import { RuntimeRegistry, type RuntimeState } from './runtime/registry.js';
import type { ExecEncoding, ExecOptions, ExecResult, InteractiveExecOptions, LogsOptions, LogsResult, Runtime } from './runtime/types.js';
import { Store } from './state/store.js';
import type { LedgerEntry } from './state/ledger.js';
import { WorkspaceManager, type EnsureResult } from './workspace/ensure.js';
import { execInWorkspace, rethrowIfGone } from './workspace/exec.js';
import { execCancellable } from './workspace/exec-cancel.js';
import { WorkspaceFiles } from './workspace/files.js';
import type { PtyHandle, PtyOptions } from './workspace/pty.js';
import { loginShell } from './workspace/shell-profile.js';
import { listProcesses, processSite, spawnProcess, type ProcessHandle, type SpawnOptions } from './workspace/processes.js';
import { DevServerManager } from './devserver/manager.js';
import type { ContainerSighting } from './devserver/answering.js';
import { LABELS } from './workspace/labels.js';
import { validatePolicy, type EgressPolicy } from './egress/policy.js';
import { EgressService } from './egress/service.js';
import { keepShield, type ShieldResult } from './egress/host-shield.js';
import { installationId } from './workspace/installation.js';
import { Inventory, recordedSpec, type WorkspaceSummary } from './workspace/inventory.js';
import { upAndReport, type EgressView, type UpReport } from './workspace/up-report.js';
import { parseMemory, patchSpec, rootTarget, type WorkspaceSpecInput } from './workspace/spec.js';
import { matchesLabels } from './workspace/label-filter.js';
import './dispose-symbol.js';
import type { HookName } from './devcontainer/lifecycle.js';
import type { DevcontainerPlan, HookContext, HookProgressListener, HookRun } from './workspace/devcontainer-up.js';
import type { DevcontainerRead } from './devcontainer/read.js';
import type { DeclaredDevcontainer } from './orchestrator/manifest.js';
import { previewPoolFor, splitPool, type ForwardedPort, type ForwardedPortView } from './workspace/forwarded-ports.js';
import { withExecDefaults, type ExecDefaults } from './workspace/exec-defaults.js';
import { readAddressCard, writeAddressCard } from './workspace/address-card.js';
import type { ComposeProject } from './workspace/devcontainer-compose.js';
import type { GcOptions, GcReport } from './orchestrator/gc.js';
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

/** What Berth builds on one runtime: the workspaces on it and their listing. */
interface RuntimeLane {
  runtime: Runtime;
  workspaces: WorkspaceManager;
  inventory: Inventory;
}

export type { RuntimeState } from './runtime/registry.js';
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
  /**
   * The default runtime: where new workspaces go unless they name one. Existing workspaces are
   * served on the runtime they live on (the ledger says which), each opened when first needed.
   */
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
  /** Every runtime this Berth serves, each connected when a workspace on it is first addressed. */
  private readonly lanes: RuntimeRegistry<RuntimeLane>;
  /** The default runtime's lane, at hand without a wait (the orchestrator's target is on it). */
  private readonly defaultLane: RuntimeLane;
  private readonly laneOptions: { home: string; owner: string; env: NodeJS.ProcessEnv; userHome: string; store: Store };
  /** The egress proxy, when this process serves it (the daemon, or an app that called serveEgress). */
  private egressServer: EgressServer | null = null;

  constructor(
    runtime: Runtime,
    selection: RuntimeSelection,
    options: {
      home: string;
      owner: string;
      env: NodeJS.ProcessEnv;
      userHome: string;
      store: Store;
      /** Connects another runtime when a workspace on it is addressed; default: createRuntime and a probe. */
      openRuntime?: ((kind: RuntimeKind) => Promise<Runtime>) | undefined;
    },
  ) {
    super();
    this.home = options.home;
    this.env = options.env;
    this.runtime = runtime;
    this.selection = selection;
    this.owner = options.owner;
    this.store = options.store;
    this.laneOptions = options;
    this.defaultLane = this.makeLane(runtime);
    const openRuntime = options.openRuntime ?? ((kind: RuntimeKind) => openAvailable(kind, { home: options.home, env: options.env }));
    this.lanes = new RuntimeRegistry({ defaultKind: runtime.kind, open: async (kind) => this.makeLane(await openRuntime(kind)) });
    this.lanes.seed(runtime.kind, this.defaultLane);
    this.files = new WorkspaceFiles((id, operation) => this.onContainer(id, (target, lane) => operation(target, lane.runtime)));
    const manager = new DevServerManager({
      runtime,
      registry: options.store.devServers,
      supervision: options.store.supervision,
      emit: (input) => this.record(input),
      // The lock is the home's, whatever the runtime: any lane's manager takes it.
      exclusively: (workspace, role, work, onWait) => this.defaultLane.workspaces.exclusively(workspace, role, work, onWait),
      folderOf: (workspace) => this.workspaceFolder(workspace),
      resolve: async (workspace) => {
        const lane = await this.laneOf(workspace);
        const { runtime } = lane;
        const target = await this.ownedName(workspace, lane);
        const container = await this.onContainer(workspace, (t) => runtime.inspect(t));
        if (container.state !== 'running') {
          throw new BerthError('E_NOT_RUNNING', `Workspace "${workspace}" is not running.`, { hint: `Start it with \`berth up ${workspace}\`.` });
        }
        // Inside a container the logs live in its /tmp; in host mode, under Berth's own folder.
        const stateDir = runtime.capabilities.isolation === 'container' ? '/tmp/berth-dev' : join(this.home, 'dev', workspace);
        // Behind a host shield (an internal docker/podman network) published ports do not forward:
        // previews go to the container's address, which the shield lets answer the host.
        const published = this.store.egress.egress(workspace)[0]?.bridge == null ? container.ports : [];
        // The devcontainer's forwarded ports keep the first slots of the pool; dev servers share the rest.
        const { forwarded, devServers: ports } = splitPool(this.recordedForwardedPorts(workspace), published);
        return { target, ip: container.ip, ports, forwardSlots: forwarded, stateDir, fence: lane.workspaces.egress.execFence(workspace), runtime };
      },
      forwardedOf: (workspace) => this.recordedForwardedPorts(workspace),
      sight: (workspaces) => this.sightContainers(workspaces),
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
      const { runtime: asked, ...workspaceSpec } = spec ?? {};
      const lane = await this.laneOf(id, asked);
      const source = {
        runtime: lane.runtime,
        up: async (wid: string, wspec?: WorkspaceSpecInput) => {
          const result = await this.ensure(wid, wspec, 'patch', lane);
          made.push(result);
          return result;
        },
        status: (wid: string) => lane.inventory.status(wid),
        egress: (wid: string) => this.egressView(wid),
        on: this.on.bind(this),
        off: this.off.bind(this),
      };
      try {
        const report = await upAndReport(source, id, spec === undefined ? undefined : workspaceSpec);
        if (this.closing.signal.aborted) throw closedDuring('up', id);
        return report;
      } catch (error) {
        if (this.closing.signal.aborted) {
          // What this up made does not outlive it: an app that closes mid-up finds no container left.
          if (made.some((r) => r.action === 'created' || r.action === 'recreated')) await lane.workspaces.remove(id).catch(() => undefined);
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
  private async ensure(id: string, spec: WorkspaceSpecInput | undefined, mode: 'patch' | 'replace', lane: RuntimeLane): Promise<EnsureResult> {
    const recorded = this.recordedSpec(id, lane.runtime.kind);
    // The orchestrator declares whole specs (a field gone from the manifest is gone): it replaces.
    const input = spec === undefined ? (recorded ? patchSpec(recorded, {}) : {}) : recorded && mode === 'patch' ? patchSpec(recorded, spec) : spec;
    const result = await lane.workspaces.ensure(id, input);
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
    const { remoteEnvFor, runHooks } = await import('./workspace/devcontainer-up.js');
    const { checkRuntimeSupport } = await import('./workspace/privileges.js');
    const lane = await this.laneOf(id, options.runtime);
    // Before the base image is there: what the config alone asks is refused before anything runs
    // or is built, then initializeCommand, then the Dockerfile build (the base image of the label).
    const { read, plan } = await this.planFromDevcontainer(options, 'up', lane.runtime, async (draft, read) => {
      // What the runtime has no way to give is refused before anything is built or started.
      checkRuntimeSupport(lane.runtime.kind, draft.input, read.file);
      // Nor what this machine cannot hold: hostRequirements.memory becomes the workspace's limit.
      if (draft.input.memory !== undefined) {
        const { checkWorkspaceMemory, memoryBudget } = await import('./orchestrator/budget.js');
        const from = options.base?.memory === undefined ? `hostRequirements.memory in ${read.file}` : 'the memory given';
        checkWorkspaceMemory({ id, runtime: lane.runtime.kind, memoryBytes: parseMemory(draft.input.memory) }, memoryBudget(this.env, null), from);
      }
      // Apple and host mode have no compose.
      if (draft.compose) (await import('./workspace/devcontainer-compose.js')).requireComposeRuntime(lane.runtime.kind);
      if (draft.initialize !== null) {
        const { runInitializeCommand } = await import('./workspace/devcontainer-up.js');
        this.record({ type: 'devcontainer.hook', workspace: id, level: 'warn', message: 'initializeCommand runs on this machine (opted in).', data: { hook: 'initializeCommand', name: null, exitCode: 0, output: '' } });
        await runInitializeCommand(draft.initialize, read.localWorkspaceFolder, (run) => this.reportHook(id, run, options.onHook), options.onHookProgress);
      }
      if (draft.build !== null) {
        const present = await lane.runtime.imageInspect(draft.build.tag).then(
          () => true,
          () => false,
        );
        if (!present) {
          this.record({ type: 'devcontainer.build', workspace: id, message: `Building ${draft.build.tag} from ${draft.build.dockerfile}.`, data: { tag: draft.build.tag } });
          await lane.runtime.buildImage({ ...draft.build, labels: { 'berth.devcontainer': read.file }, timeoutMs: 30 * 60_000, onOutput: options.onBuildOutput });
        }
      }
    });
    // Again with the base image's label applied (its capAdd/privileged go through the same rules).
    checkRuntimeSupport(lane.runtime.kind, plan.input, read.file);
    if (plan.granted.length > 0) {
      this.record({ type: 'devcontainer.privileges', workspace: id, level: 'warn', message: `Granted at the user's request (allowPrivileged): ${plan.granted.join(', ')}.`, data: { granted: plan.granted } });
    }
    plan.input = withApplePool(plan.input, options, lane.runtime.kind);
    if (plan.features !== null) {
      const { ensureFeaturesImage } = await import('./devcontainer/features/build.js');
      const baseImage = plan.input.image ?? '';
      const image = await ensureFeaturesImage(lane.runtime, plan.features, {
        baseImage,
        containerUser: read.config.containerUser,
        remoteUser: read.config.remoteUser,
        labels: { 'berth.devcontainer': read.file },
        onOutput: options.onBuildOutput,
        timeoutMs: 30 * 60_000,
      });
      if (image.built) this.record({ type: 'devcontainer.build', workspace: id, message: `Installed features ${plan.features.features.map((f) => f.userId).join(', ')} on ${baseImage} as ${image.tag}.`, data: { tag: image.tag } });
      plan.input = { ...plan.input, image: image.tag };
    }
    const compose = plan.compose ? await this.composeUp(id, lane.runtime, plan.compose, options.onBuildOutput) : null;
    if (compose && plan.input.devcontainer) plan.input.devcontainer.compose = compose;
    // What `berth mcp --up` (devcontainerUpOf) brings it up with again: not hashed, as compose is not.
    if (plan.input.devcontainer) plan.input.devcontainer.upWith = { base: withoutRoot(options.base), runInitializeCommand: options.runInitializeCommand === true, allowPrivileged: options.allowPrivileged === true };
    // The devcontainer.json declares the whole spec: it replaces what was recorded (an edit is drift).
    const result = await this.guard(() => this.ensure(id, plan.input, 'replace', lane));
    if (compose) await (await import('./workspace/devcontainer-compose.js')).joinProjectNetwork(engineBinary(lane.runtime), this.env, compose, result.container.name);
    // The hooks and the variables' resolution say who, where and what env themselves: the raw exec.
    const rawExec: HookContext['exec'] = (argv, execOptions) => this.execWith(id, argv, execOptions, false) as Promise<ExecResult>;
    // From now on a plain exec runs as the hooks do (remoteUser, workspaceFolder, remoteEnv).
    const remoteEnv = await remoteEnvFor(plan, { exec: rawExec });
    this.recordExecDefaults(id, lane, { ...(plan.user ? { user: plan.user } : {}), cwd: plan.workspaceFolder, ...(Object.keys(remoteEnv).length > 0 ? { env: remoteEnv } : {}) });
    const hooks = await runHooks(plan, {
      workspace: id,
      containerId: result.container.id,
      action: result.action,
      exec: rawExec,
      markers: this.store.hookMarkers,
      onHook: (run) => this.reportHook(id, run, options.onHook),
      onProgress: options.onHookProgress,
    });
    const ports = await this.forwardedPortsNow(id);
    return { ...result, devcontainer: { file: read.file, warnings: read.warnings.map((w) => `${w.path}: ${w.message} (line ${String(w.line)})`), notes: plan.notes, hooks, workspaceFolder: plan.workspaceFolder, user: plan.user, granted: plan.granted, ports } };
  }

  /**
   * The devcontainer.json read and planned: features resolved (for the planner, `plan`: without
   * writing the lockfile), then the base image's devcontainer.metadata label applied (the image
   * `image` names, or the one the Dockerfile builds, inspected on the runtime: up builds it in
   * `beforeImage`; the planner reads it when it is there). Nothing else built. One path for up and
   * the planner, so they hash alike and a label's user or env is no false drift.
   */
  private async planFromDevcontainer(
    options: UpDevcontainerOptions,
    purpose: 'up' | 'plan',
    runtime: Pick<Runtime, 'imageInspect'>,
    beforeImage?: (draft: DevcontainerPlan, read: DevcontainerRead) => Promise<void>,
  ): Promise<{ read: DevcontainerRead; plan: DevcontainerPlan }> {
    const { readDevcontainer, requireRunnable } = await import('./devcontainer/read.js');
    const { planDevcontainer } = await import('./workspace/devcontainer-up.js');
    const read = requireRunnable(readDevcontainer({ workspaceFolder: options.root, config: options.config }));
    // Features are fetched (OCI) and resolved before the plan: their content is part of what it hashes.
    const features =
      Object.keys(read.config.features).length > 0
        ? await (await import('./devcontainer/features/resolve.js')).resolveFeatures(read, { cacheDir: this.featureCacheDir(), writeLockfile: purpose === 'up' })
        : undefined;
    const planOptions = { root: read.localWorkspaceFolder, base: options.base, features, runInitializeCommand: options.runInitializeCommand, allowPrivileged: options.allowPrivileged };
    const draft = planDevcontainer(read, planOptions);
    await beforeImage?.(draft, read);
    const image = draft.input.image ?? '';
    // Berth never pulls: an image that is not there has no label to read (ensure says it is missing).
    const info = image === '' ? null : await runtime.imageInspect(image).catch(() => null);
    if (info === null) return { read, plan: draft };
    const { readImageMetadata } = await import('./devcontainer/image-metadata.js');
    const { METADATA_LABEL } = await import('./devcontainer/features/build.js');
    const imageMetadata = readImageMetadata(info.labels[METADATA_LABEL], image, { localWorkspaceFolder: read.localWorkspaceFolder, containerWorkspaceFolder: read.config.workspaceFolder, devcontainerId: read.devcontainerId });
    if (imageMetadata.entries.length === 0 && imageMetadata.notes.length === 0) return { read, plan: draft };
    return { read, plan: planDevcontainer(read, { ...planOptions, imageMetadata }) };
  }

  /** Where fetched OCI features are kept (offline after the first fetch). */
  private featureCacheDir(): string {
    return join(this.home, 'cache', 'devcontainer-features');
  }

  /**
   * The spec `upDevcontainer` would ensure, without building or starting anything: what the
   * planner hashes for a manifest workspace declared with `devcontainer:` (the image tags are their
   * content, so a tag not built yet is simply an image that is not there).
   */
  private async devcontainerSpec(options: UpDevcontainerOptions, runtime: Runtime): Promise<WorkspaceSpecInput> {
    const { read, plan } = await this.planFromDevcontainer(options, 'plan', runtime);
    // Sized as up sizes it: otherwise an Apple workspace with forwarded ports would plan as drifted.
    const input = withApplePool(plan.input, options, runtime.kind);
    if (plan.features === null) return input;
    const { featuresImageOf } = await import('./devcontainer/features/build.js');
    const { tag } = await featuresImageOf(runtime, plan.features, { baseImage: input.image ?? '', containerUser: read.config.containerUser, remoteUser: read.config.remoteUser });
    return { ...input, image: tag };
  }

  /**
   * How a workspace last brought up from a devcontainer.json comes up again "as last declared"
   * (`berth mcp --up`): the same file, root, settings and initializeCommand choice. null when it
   * was not brought up from one (or Berth has no record of it).
   */
  /** Where the workspace's folder is inside it: /workspace, or the workspaceFolder of the devcontainer.json it came up from. */
  workspaceFolder(id: string): string {
    return rootTarget(this.recordedSpec(id, this.kindOf(id)) ?? {});
  }

  /**
   * The forwarded ports as previews for up's report: a port that cannot be previewed (no python3
   * or node in the image to bridge it) is said so, and does not fail an up that succeeded.
   */
  private async forwardedPortsNow(id: string): Promise<ForwardedPortView[]> {
    try {
      return await this.dev.forwardedPorts(id);
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      this.record({ type: 'devcontainer.ports', workspace: id, level: 'warn', message: `Cannot preview the forwarded ports: ${why}` });
      return this.recordedForwardedPorts(id).map((p) => ({ ...p, state: p.service === null ? 'not-listening' : 'other-service', url: null, note: why }));
    }
  }

  /** The ports its devcontainer.json forwards, as recorded at its last up (none for other workspaces). */
  private recordedForwardedPorts(id: string): ForwardedPort[] {
    return this.recordedSpec(id, this.kindOf(id))?.devcontainer?.ports ?? [];
  }

  devcontainerUpOf(id: string): UpDevcontainerOptions | null {
    const spec = this.recordedSpec(id, this.kindOf(id));
    const origin = spec?.devcontainer;
    if (!spec || !origin) return null;
    return { root: spec.root, config: origin.file, runtime: this.kindOf(id), base: origin.upWith?.base, runInitializeCommand: origin.upWith?.runInitializeCommand, allowPrivileged: origin.upWith?.allowPrivileged };
  }

  /**
   * A shell attaches (`berth shell`, `pty()` without a command): the devcontainer's
   * postAttachCommand runs first, as the other hooks do (user, folder, remoteEnv). Its failure is
   * reported and does not keep the shell from opening. Nothing to do for other workspaces.
   */
  async runAttachHooks(id: string, onHook?: (run: HookRun) => void, onProgress?: HookProgressListener): Promise<HookRun[]> {
    const attach = this.recordedSpec(id, this.kindOf(id))?.devcontainer?.postAttach;
    if (!attach) return [];
    const { runAttachHook } = await import('./workspace/devcontainer-up.js');
    return runAttachHook(attach, (argv, execOptions) => this.execWith(id, argv, execOptions, false) as Promise<ExecResult>, (run) => this.reportHook(id, run, onHook), onProgress);
  }

  /**
   * Records how plain commands run in a workspace brought up from a devcontainer.json: in the
   * ledger's spec (what Berth, the daemon and a later up read) and on the address card (the CLI's
   * fast exec path). Both were written by ensure without it: the env needed the running container.
   */
  private recordExecDefaults(id: string, lane: RuntimeLane, defaults: ExecDefaults): void {
    const entry = this.containerEntry(id, lane.runtime.kind);
    const spec = entry ? recordedSpec(entry) : null;
    if (!entry || !spec?.devcontainer) return;
    this.store.ledger.recordDesired(lane.runtime.kind, entry.name, { ...spec, devcontainer: { ...spec.devcontainer, exec: defaults } });
    const card = readAddressCard(this.home, id);
    if (card) writeAddressCard(this.home, id, { ...card, defaults });
  }

  /** What a plain command in the workspace runs with when the caller does not say (exec-defaults.ts). */
  private execDefaults(id: string): ExecDefaults | undefined {
    return this.recordedSpec(id, this.kindOf(id))?.devcontainer?.exec;
  }

  /** The compose project's other services up (the workspace's service is Berth's own container). */
  private async composeUp(id: string, runtime: Runtime, compose: NonNullable<DevcontainerPlan['compose']>, onOutput: ((chunk: Buffer) => void) | undefined): Promise<ComposeProject> {
    const { composeProject, composeUp, findComposeTool } = await import('./workspace/devcontainer-compose.js');
    const tool = await findComposeTool(runtime.kind, engineBinary(runtime), this.env);
    const project = composeProject({ tool, workspace: id, owner: this.owner, home: this.home, ...compose });
    this.record({ type: 'devcontainer.build', workspace: id, message: `Starting compose services ${compose.others.join(', ') || '(none)'} of project ${project.project}.`, data: { tag: project.project } });
    await composeUp(project, this.env, onOutput);
    return project;
  }

  /** Stops or removes the compose services that serve a workspace, if it has any. */
  private async composeAfter(compose: ComposeProject | undefined, action: 'stop' | 'down', runtime: Runtime): Promise<void> {
    if (!compose) return;
    const { composeDown, composeStop } = await import('./workspace/devcontainer-compose.js');
    await (action === 'stop' ? composeStop(compose, this.env) : composeDown(compose, this.env, engineBinary(runtime)));
  }

  private reportHook(id: string, run: HookRun, onHook: ((run: HookRun) => void) | undefined): void {
    const whose = run.feature !== undefined ? ` (feature ${run.feature})` : run.image !== undefined ? ` (image label ${run.image})` : '';
    const label = `${run.name === null ? run.hook : `${run.hook} ${run.name}`}${whose}`;
    this.record({ type: 'devcontainer.hook', workspace: id, level: run.exitCode === 0 ? 'info' : 'error', message: `${label}: exit ${String(run.exitCode)}.`, data: { hook: run.hook, name: run.name, ...(run.feature === undefined ? {} : { feature: run.feature }), ...(run.image === undefined ? {} : { image: run.image }), exitCode: run.exitCode, output: run.output.slice(-4096) } });
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
    return this.targetOn(this.defaultLane);
  }

  /**
   * The orchestrator's target on one runtime this Berth serves (a manifest's `runtime:` choice;
   * undefined: the default runtime), connected when first asked: one Berth plans, applies and
   * reconciles a manifest whose workspaces live on several runtimes.
   */
  async targetFor(choice: string | undefined): Promise<Target> {
    if (choice === undefined || choice === this.runtime.kind) return this.targetOn(this.defaultLane);
    if (!isRuntimeKind(choice)) throw new BerthError('E_INVALID_INPUT', `Unknown runtime ${JSON.stringify(choice)}.`, { hint: `Use one of: ${RUNTIME_KINDS.join(', ')}.` });
    return this.targetOn(await this.lanes.get(choice));
  }

  private targetOn(lane: RuntimeLane): Target {
    return {
      runtime: lane.runtime,
      owner: this.owner,
      workspaces: {
        up: (id, spec, devcontainer) => (devcontainer ? this.upDevcontainer(id, manifestDevcontainer(spec, devcontainer, lane.runtime.kind)) : this.ensure(id, spec, 'replace', lane)),
        restart: (id, spec, devcontainer) => this.restart(id, spec, devcontainer),
        devcontainerSpec: (_id, devcontainer, base) => this.devcontainerSpec(manifestDevcontainer(base, devcontainer, lane.runtime.kind), lane.runtime),
        remove: (id) => this.remove(id),
        setEgress: (id, policy) => this.setEgress(id, policy),
        restoreShield: (id) => this.restoreShield(id),
        desiredHash: (id, spec, imageId) => lane.workspaces.desiredHash(id, spec, imageId),
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
    (await this.laneOf(id)).workspaces.egress.replacePolicy(record, policy);
    await this.applyEgress(id);
  }

  /** The spec a workspace was last brought up with, if Berth knows it. */
  recordedSpecOf(id: string): WorkspaceSpecInput | undefined {
    const spec = this.recordedSpec(id, this.kindOf(id));
    return spec ? patchSpec(spec, {}) : undefined;
  }

  private recordedSpec(id: string, kind: RuntimeKind): ReturnType<typeof recordedSpec> {
    const entry = this.containerEntry(id, kind);
    return entry ? recordedSpec(entry) : null;
  }

  /** The ledger's live entry of the workspace's container on a runtime, if Berth made it. */
  private containerEntry(id: string, kind: RuntimeKind): LedgerEntry | undefined {
    return this.store.ledger.activeEntries(kind).find((e) => e.kind === 'container' && e.workspace === id);
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
    const lane = await this.laneOf(id);
    lane.workspaces.egress.replacePolicy(record, policy);
    // The recorded spec follows, so a later `berth up` keeps the change instead of undoing it.
    const entry = this.containerEntry(id, lane.runtime.kind);
    const spec = entry ? recordedSpec(entry) : null;
    if (entry && spec) this.store.ledger.recordDesired(lane.runtime.kind, entry.name, { ...spec, egress: policy });
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
    return this.execWith(id, argv, options, true);
  }

  /** exec, with the workspace's defaults for what the caller leaves out (a devcontainer's remoteUser...) or without. */
  private execWith(id: string, argv: readonly string[], options: ExecOptions<ExecEncoding>, defaulted: boolean): Promise<ExecResult<string | Buffer>> {
    // close() ends the command in the workspace as an abort does (E_ABORTED).
    const signal = AbortSignal.any([this.closing.signal, ...(options.signal ? [options.signal] : [])]);
    const given = defaulted ? withExecDefaults(this.execDefaults(id), options) : options;
    return this.guard(() => this.onContainer(id, (target, { runtime, workspaces }) => execCancellable(runtime, target, [...workspaces.egress.execFence(id), ...argv], { ...given, signal })));
  }

  /** An interactive command attached to this terminal; resolves to its exit code. */
  async execInteractive(id: string, argv: readonly string[], options: InteractiveExecOptions = {}): Promise<number> {
    const lane = await this.laneOf(id);
    return execInWorkspace(lane.runtime, id, await this.ownedName(id, lane), [...lane.workspaces.egress.execFence(id), ...argv], withExecDefaults(this.execDefaults(id), options));
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
    return this.onContainer(id, (target, { runtime, workspaces }) => openPty(runtime, target, [...workspaces.egress.execFence(id), ...(command ?? loginShell(runtime.capabilities))], withExecDefaults(this.execDefaults(id), rest)));
  }

  /**
   * Starts a long-lived process in the workspace (an LSP server over stdio, a watcher): it, its
   * output (a bounded ring) and its exit status live in the workspace, so `processes(id)` on any
   * later Berth attaches to it again. Honours the exec fence, as exec does.
   */
  spawn(id: string, argv: readonly string[], options: SpawnOptions = {}): Promise<ProcessHandle> {
    return this.onContainer(id, (target, { runtime, workspaces }) => spawnProcess(processSite(runtime, this.home, id, target, workspaces.egress.execFence(id)), argv, withExecDefaults(this.execDefaults(id), options)));
  }

  /** The processes `spawn` started in the workspace (running, and the last ended ones), to attach to again. */
  processes(id: string): Promise<ProcessHandle[]> {
    return this.onContainer(id, (target, { runtime }) => listProcesses(processSite(runtime, this.home, id, target, [])));
  }

  copyIn(id: string, hostPath: string, containerPath: string): Promise<void> {
    return this.onContainer(id, (target, { runtime }) => runtime.copyIn(target, hostPath, containerPath));
  }

  copyOut(id: string, containerPath: string, hostPath: string): Promise<void> {
    return this.onContainer(id, (target, { runtime }) => runtime.copyOut(target, containerPath, hostPath));
  }

  logs(id: string, options: LogsOptions = {}): Promise<LogsResult> {
    return this.onContainer(id, (target, { runtime }) => runtime.logs(target, options));
  }

  stop(id: string): Promise<void> {
    return this.guard(async () => {
      const lane = await this.laneOf(id);
      await lane.workspaces.stop(id);
      await this.composeAfter(this.recordedSpec(id, lane.runtime.kind)?.devcontainer?.compose, 'stop', lane.runtime);
      // Stopped on request: the reconciler's restart policy leaves it stopped until `up` or `apply`.
      this.store.supervision.setHeld(id, '', true);
      this.dev.markGone(id, 'the workspace was stopped');
    });
  }

  /** Stops and starts the workspace's container (a failed health probe); its dev servers end with it. */
  async restart(id: string, spec?: WorkspaceSpecInput, devcontainer?: DeclaredDevcontainer): Promise<EnsureResult> {
    const lane = await this.laneOf(id);
    await lane.workspaces.stop(id);
    this.dev.markGone(id, 'the workspace was restarted');
    // Declared from a devcontainer.json: it starts again as up --devcontainer starts it (postStart runs).
    if (devcontainer) return this.upDevcontainer(id, manifestDevcontainer(spec ?? {}, devcontainer, lane.runtime.kind));
    return this.ensure(id, spec, 'replace', lane);
  }

  remove(id: string): Promise<void> {
    return this.guard(async () => {
      const lane = await this.laneOf(id);
      const compose = this.recordedSpec(id, lane.runtime.kind)?.devcontainer?.compose;
      await lane.workspaces.remove(id);
      // After the workspace: its container holds the project network until it is gone.
      await this.composeAfter(compose, 'down', lane.runtime);
      this.dev.markGone(id, 'the workspace was removed');
      await this.applyEgress();
    });
  }

  /** One workspace, including the states an engine alone cannot tell (missing, drifted, foreign). */
  status(id: string): Promise<WorkspaceSummary> {
    return this.guard(async () => (await this.laneOf(id)).inventory.status(id));
  }

  /**
   * This installation's workspaces on every runtime it has any on (the default one, and each the
   * ledger names: one engine list each, plus one image lookup per image); `labels`: only those
   * whose labels include every pair given. A runtime that is not available does not fail the list:
   * its workspaces are listed from the ledger in state `unavailable`.
   */
  list(filter: ListFilter = {}): Promise<WorkspaceSummary[]> {
    return this.guard(async () => {
      // Which runtimes to ask, without reading every entry: each lane's listing reads its own.
      const kinds = new Set<RuntimeKind>([this.runtime.kind, ...this.store.ledger.containerRuntimes()]);
      const listed = await Promise.all(
        [...kinds].map((kind) =>
          this.lanes.get(kind).then(
            (lane) => lane.inventory.list(),
            (error: unknown) => {
              if (!isBerthError(error, 'E_RUNTIME_UNAVAILABLE')) throw error;
              return unavailableSummaries(this.store.ledger.activeEntries(kind), kind);
            },
          ),
        ),
      );
      return listed
        .flat()
        .filter((w) => matchesLabels(w.labels, filter.labels))
        .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    });
  }

  /** Every runtime and how it stands here: the default, the ones in use, the ones found unavailable. */
  runtimes(): RuntimeState[] {
    return this.lanes.states();
  }

  /**
   * Conservative cleanup: removes only containers that carry our labels AND are in our ledger AND
   * are no longer declared (by the manifest that declared them, else by a workspace folder that
   * still exists); and the named volumes and compose services of workspaces that are gone, once
   * older than `graceMs` (default 10 min: a first up makes them before the ledger names it). A dry
   * run unless `apply` is set; either way it says what.
   */
  async gc(options: GcOptions = {}): Promise<GcReport> {
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
  private async onContainer<T>(id: string, operation: (target: string, lane: RuntimeLane) => Promise<T>): Promise<T> {
    const lane = await this.laneOf(id);
    const target = await this.ownedName(id, lane);
    try {
      return await operation(target, lane);
    } catch (error) {
      return rethrowIfGone(error, lane.runtime, id, target);
    }
  }

  /**
   * The runtime a workspace lives on, at no engine call: the one the ledger recorded when Berth
   * made it; for a workspace Berth has not made, the one asked for, else the default.
   */
  private kindOf(id: string, asked?: string): RuntimeKind {
    validateWorkspaceId(id);
    const recorded = this.store.ledger.runtimeOf(containerNameFor(id));
    if (asked !== undefined && !isRuntimeKind(asked)) {
      throw new BerthError('E_INVALID_INPUT', `Unknown runtime ${JSON.stringify(asked)} for workspace "${id}".`, { hint: `Use one of: ${RUNTIME_KINDS.join(', ')}.` });
    }
    if (recorded !== undefined && asked !== undefined && asked !== recorded) {
      throw new BerthError('E_CONFLICT', `Workspace "${id}" lives on ${recorded}, not ${asked}.`, {
        hint: `Leave runtime out to use it where it is, or remove it (\`berth rm ${id}\`) and bring it up again on ${asked}.`,
        details: { workspace: id, runtime: recorded, asked },
      });
    }
    return recorded ?? asked ?? this.runtime.kind;
  }

  /** The lane of the runtime a workspace lives on; a runtime that is not available fails only its workspaces. */
  private async laneOf(id: string, asked?: string): Promise<RuntimeLane> {
    const kind = this.kindOf(id, asked);
    try {
      return await this.lanes.get(kind);
    } catch (error) {
      if (!isBerthError(error, 'E_RUNTIME_UNAVAILABLE')) throw error;
      throw new BerthError('E_RUNTIME_UNAVAILABLE', `Workspace "${id}" lives on ${kind}, which is not available: ${error.message}`, {
        hint: error.hint,
        cause: error,
        details: { workspace: id, runtime: kind },
      });
    }
  }

  /**
   * The containers of these workspaces, as one list of this installation's containers per runtime
   * says (one engine API call on docker and podman). A workspace whose runtime is not available now,
   * or whose container the list does not show, is left out.
   */
  private async sightContainers(workspaces: readonly string[]): Promise<Map<string, ContainerSighting>> {
    const byKind = new Map<RuntimeKind, Set<string>>();
    for (const id of workspaces) {
      const kind = this.kindOf(id);
      byKind.set(kind, (byKind.get(kind) ?? new Set()).add(id));
    }
    const sighted = new Map<string, ContainerSighting>();
    const filter = { labels: { [LABELS.managed]: 'true', [LABELS.owner]: this.owner } };
    await Promise.all(
      [...byKind].map(async ([kind, ids]) => {
        const { runtime } = await this.lanes.get(kind).catch(() => ({ runtime: null }));
        if (runtime === null) return;
        for (const container of runtime.listBrief ? await runtime.listBrief(filter) : await runtime.list(filter)) {
          const id = container.labels[LABELS.workspace];
          if (id !== undefined && ids.has(id)) sighted.set(id, { running: container.state === 'running', ip: container.ip });
        }
      }),
    );
    return sighted;
  }

  /** The workspace manager and listing on one runtime, sharing this Berth's store and events. */
  private makeLane(runtime: Runtime): RuntimeLane {
    const { owner, home, userHome, env, store } = this.laneOptions;
    const workspaces = new WorkspaceManager({ runtime, owner, berthHome: home, userHome, env, store, emit: (input) => this.record(input) });
    return { runtime, workspaces, inventory: new Inventory({ runtime, ledger: store.ledger, owner, workspaces, featureCacheDir: join(home, 'cache', 'devcontainer-features') }) };
  }

  /**
   * The engine address of the workspace's container: the id our ledger recorded when Berth made it,
   * which no foreign container can share, at no engine call. Without a ledger entry (made
   * elsewhere), the container is inspected and its labels must say it is ours.
   */
  private async ownedName(id: string, lane: RuntimeLane): Promise<string> {
    validateWorkspaceId(id);
    const entry = this.store.ledger.activeEntries(lane.runtime.kind).find((e) => e.kind === 'container' && e.workspace === id && e.resourceId !== null);
    return entry?.resourceId ?? (await lane.workspaces.ownedContainer(id)).name;
  }

  /** Records an event: in the event log, and to every `event` listener. */
  record(input: BerthEventInput): void {
    const event = stampEvent(input);
    this.store.events.appendEvent(event);
    this.emit('event', event);
  }
}

/** The dev-server methods that reach the engine or wait: close() waits for them and refuses new ones. */
const ASYNC_DEV_METHODS = new Set(['start', 'stop', 'restart', 'list', 'logs', 'logPath', 'waitUntilReady', 'refresh', 'confirm', 'forwardedPorts']);

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

/**
 * Another runtime, when a workspace on it is first addressed: built, then asked whether it is there
 * (`ensureSystem`, which starts a stopped Apple system only where allowed), so a missing engine fails
 * that workspace with E_RUNTIME_UNAVAILABLE now instead of a stranger error at its first command.
 */
async function openAvailable(kind: RuntimeKind, options: { home: string; env: NodeJS.ProcessEnv; startSystem?: boolean; onSystemStarted?: (message: string) => void }): Promise<Runtime> {
  const runtime = await createRuntime(kind, options);
  const system = await runtime.ensureSystem({ start: options.startSystem ?? false });
  if (!system.running) {
    throw new BerthError('E_RUNTIME_UNAVAILABLE', `The ${kind} runtime is not available: ${system.detail}`, { hint: `Start ${kind} (\`berth doctor\` says what is missing); workspaces on other runtimes are not affected.`, details: { runtime: kind } });
  }
  return runtime;
}

/** The engine CLI a runtime runs (docker/podman), for the compose tool and its network. */
function engineBinary(runtime: Runtime): string {
  const binary = (runtime as { binary?: unknown }).binary;
  return typeof binary === 'string' ? binary : runtime.kind;
}

/** A runtime's workspaces as the ledger alone knows them, while that runtime cannot be asked. */
function unavailableSummaries(entries: readonly LedgerEntry[], kind: RuntimeKind): WorkspaceSummary[] {
  // Only the ledger was read, now: the engine's side is unknown (state 'unavailable').
  const observedAt = new Date().toISOString();
  return entries
    .filter((e) => e.kind === 'container')
    .map((entry) => {
      const spec = recordedSpec(entry);
      return { id: entry.workspace ?? entry.name.replace(/^berth-/, ''), runtime: kind, state: 'unavailable', container: entry.name, image: spec?.image ?? null, ip: null, root: spec?.root ?? null, isolation: kind === 'host' ? (spec?.sandbox === 'off' ? 'none' : 'sandbox') : 'container', labels: { ...spec?.labels }, observedAt };
    });
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
  const openRuntime = (kind: RuntimeKind): Promise<Runtime> => openAvailable(kind, { home, env, startSystem: appleAutostart(env, config), onSystemStarted: (message) => opened.berth?.record({ type: 'runtime.system-started', message, data: { runtime: kind } }) });
  opened.berth = new Berth(runtime, selection, { home, owner: installationId(home), env, userHome: options.userHome ?? homedir(), store, openRuntime });
  return opened.berth;
}

export interface UpDevcontainerOptions {
  /** The folder that holds .devcontainer/ (mounted as the workspace). */
  root: string;
  /** A config path relative to root; default: the well-known places. */
  config?: string | undefined;
  /** The runtime of a new workspace (one that exists stays where it is); default: this Berth's. */
  runtime?: RuntimeKind | undefined;
  /** cpus, memory, preview ports, egress... as `berth up` flags give them; they win over the file. */
  base?: WorkspaceSpecInput | undefined;
  onBuildOutput?: ((chunk: Buffer) => void) | undefined;
  /** Each hook command's outcome and whole output, as it ends (also a `devcontainer.hook` event). */
  onHook?: ((run: HookRun) => void) | undefined;
  /** Each hook command as it starts, and its output as it comes: a live view (`berth up` streams it). */
  onHookProgress?: HookProgressListener | undefined;
  /** Run the config's initializeCommand on this machine (it is the repository's code, unconfined). Default: refuse a config that has one. */
  runInitializeCommand?: boolean | undefined;
  /**
   * Grant what the config (or a feature) asks for that reaches past the container: `privileged`,
   * devices, capabilities such as SYS_ADMIN or SYS_PTRACE, security options other than
   * no-new-privileges (docs/security.md). Default: refuse. Never granted with an egress policy.
   */
  allowPrivileged?: boolean | undefined;
}

export interface DevcontainerUpResult extends EnsureResult {
  /** `granted`: privileges that reach past the container, given because the caller passed allowPrivileged (a warning to show). */
  /** `ports`: the forwarded ports as previews when up returned (a server a hook started may not listen yet). */
  devcontainer: { file: string; warnings: string[]; notes: string[]; hooks: HookName[]; workspaceFolder: string; user: string | null; granted: string[]; ports: ForwardedPortView[] };
}

/** A manifest workspace declared with `devcontainer:`, as `upDevcontainer` takes it: its settings are the base. */
function manifestDevcontainer(spec: WorkspaceSpecInput, devcontainer: DeclaredDevcontainer, runtime: RuntimeKind): UpDevcontainerOptions {
  return { root: spec.root ?? '.', config: devcontainer.config, runtime, base: withoutRoot(spec), runInitializeCommand: devcontainer.runInitializeCommand, allowPrivileged: devcontainer.allowPrivileged === true };
}

/**
 * A preview slot for each forwarded port; on Apple (published at create only) reserved on top of
 * its usual pool. The user's own previewPorts wins; without forwarded ports, the runtime's default.
 */
function withApplePool(input: WorkspaceSpecInput, options: UpDevcontainerOptions, kind: RuntimeKind): WorkspaceSpecInput {
  if (kind !== 'apple' || options.base?.previewPorts !== undefined || input.previewPorts === undefined) return input;
  return { ...input, previewPorts: previewPoolFor(input.devcontainer?.ports ?? [], 'apple') };
}

/** The settings laid over a devcontainer.json (its root is the folder it was read from). */
function withoutRoot(base: WorkspaceSpecInput | undefined): WorkspaceSpecInput | undefined {
  if (base === undefined) return undefined;
  const rest = { ...base };
  delete rest.root;
  delete rest.devcontainer;
  return rest;
}
