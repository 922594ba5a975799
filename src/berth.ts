import { EventEmitter } from 'node:events';
import { homedir } from 'node:os';
import { berthHome, loadConfig } from './config.js';
import { stampEvent, type BerthEvent } from './events.js';
import { createRuntime, selectRuntime, type RuntimeSelection } from './runtime/select.js';
import type { ContainerInfo, ExecOptions, ExecResult, InteractiveExecOptions, Runtime, RuntimeKind } from './runtime/types.js';
import { WorkspaceManager, type EnsureResult } from './workspace/ensure.js';
import { installationId } from './workspace/installation.js';
import { LABELS } from './workspace/labels.js';
import type { WorkspaceSpecInput } from './workspace/spec.js';
import { containerNameFor } from './workspace/workspace-id.js';

export interface BerthOptions {
  /** State folder; default `$BERTH_HOME`, else `~/.berth`. */
  home?: string | undefined;
  /** `apple`, `docker`, `podman`, `host` or `auto` (the default: BERTH_RUNTIME, config, detection). */
  runtime?: string | undefined;
  env?: NodeJS.ProcessEnv | undefined;
  /** The user's home folder, for the sensitive-mount rules. Default: the OS's. */
  userHome?: string | undefined;
}

export interface WorkspaceSummary {
  id: string;
  runtime: RuntimeKind;
  state: 'running' | 'stopped' | 'foreign';
  container: string;
  image: string;
  ip: string | null;
  root: string | null;
}

export interface BerthEvents {
  event: [BerthEvent];
}

/**
 * Berth in-process: what the CLI uses, and what an app (Electron, an agent host) embeds.
 * Every operation is typed; every change is also an `event`.
 */
export class Berth extends EventEmitter<BerthEvents> {
  readonly home: string;
  readonly runtime: Runtime;
  readonly selection: RuntimeSelection;
  readonly owner: string;
  private readonly workspaces: WorkspaceManager;

  constructor(runtime: Runtime, selection: RuntimeSelection, options: { home: string; owner: string; env: NodeJS.ProcessEnv; userHome: string }) {
    super();
    this.home = options.home;
    this.runtime = runtime;
    this.selection = selection;
    this.owner = options.owner;
    this.workspaces = new WorkspaceManager({
      runtime,
      owner: options.owner,
      berthHome: options.home,
      userHome: options.userHome,
      env: options.env,
      emit: (input) => this.emit('event', stampEvent(input)),
    });
  }

  /** Brings the workspace up: creates, starts, reuses or recreates its container as needed. */
  up(id: string, spec: WorkspaceSpecInput = {}): Promise<EnsureResult> {
    return this.workspaces.ensure(id, spec);
  }

  /** Runs a command in the workspace (cwd /workspace, the workspace env); the exit code comes back. */
  async exec(id: string, argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    await this.workspaces.ownedContainer(id);
    return this.runtime.exec(containerNameFor(id), argv, options);
  }

  /** An interactive command attached to this terminal; resolves to its exit code. */
  async execInteractive(id: string, argv: readonly string[], options: InteractiveExecOptions = {}): Promise<number> {
    await this.workspaces.ownedContainer(id);
    return this.runtime.execInteractive(containerNameFor(id), argv, options);
  }

  stop(id: string): Promise<void> {
    return this.workspaces.stop(id);
  }

  remove(id: string): Promise<void> {
    return this.workspaces.remove(id);
  }

  async status(id: string): Promise<WorkspaceSummary> {
    return summarize(this.runtime.kind, await this.workspaces.ownedContainer(id), this.owner);
  }

  /** This installation's workspaces on the selected runtime, from one engine list. */
  async list(): Promise<WorkspaceSummary[]> {
    const containers = await this.runtime.list({ labels: { [LABELS.managed]: 'true', [LABELS.owner]: this.owner } });
    return containers.map((c) => summarize(this.runtime.kind, c, this.owner)).sort((a, b) => (a.id < b.id ? -1 : 1));
  }
}

function summarize(runtime: RuntimeKind, container: ContainerInfo, owner: string): WorkspaceSummary {
  const ours = container.labels[LABELS.owner] === owner;
  return {
    id: container.labels[LABELS.workspace] ?? container.name.replace(/^berth-/, ''),
    runtime,
    state: !ours ? 'foreign' : container.state === 'running' ? 'running' : 'stopped',
    container: container.name,
    image: container.image,
    ip: container.ip,
    root: container.labels[LABELS.root] ?? null,
  };
}

/** Opens Berth: reads $BERTH_HOME, picks the runtime (flag > BERTH_RUNTIME > config > detection). */
export async function createBerth(options: BerthOptions = {}): Promise<Berth> {
  const env = options.env ?? process.env;
  const home = options.home ?? berthHome(env);
  const config = loadConfig(home);
  const selection = await selectRuntime({ flag: options.runtime, configRuntime: config.runtime, env });
  const runtime = await createRuntime(selection.kind, { home, env });
  return new Berth(runtime, selection, { home, owner: installationId(home), env, userHome: options.userHome ?? homedir() });
}
