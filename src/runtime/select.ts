import { join } from 'node:path';
import { BerthError } from '../errors.js';
import { resolveExecutable } from '../process/resolve-executable.js';
import { APPLE_CONTAINER_DEFAULT_BIN } from './apple-binary.js';
import { isRuntimeChoice, RUNTIME_CHOICES, type RuntimeChoice, type RuntimeKind } from './kinds.js';
import type { Runtime } from './types.js';

export type { RuntimeChoice };

/** The runtimes whose availability is asked of the runtime itself. */
type ProbedKind = Exclude<RuntimeKind, 'host'>;

/** What one detection strategy found: whether its runtime can be used here, and why (not). */
export interface DetectionReport {
  kind: RuntimeKind;
  applies: boolean;
  reason: string;
}

export interface RuntimeSelection {
  kind: RuntimeKind;
  /**
   * Which rule decided: --runtime, BERTH_RUNTIME, the config file, the ledger (the runtime an
   * existing workspace lives on), detection, or the host fallback.
   */
  source: 'flag' | 'env' | 'config' | 'ledger' | 'detected' | 'fallback';
  /** One report per strategy that ran (empty when an explicit choice skipped detection). */
  reports: DetectionReport[];
}

export interface SelectionInput {
  flag?: string | undefined;
  configRuntime?: string | undefined;
  /** The runtime the workspace being addressed lives on, from the ledger; beats detection. */
  ledgerRuntime?: RuntimeKind | undefined;
  env?: NodeJS.ProcessEnv | undefined;
  platform?: NodeJS.Platform | undefined;
  arch?: string | undefined;
  /** Does this engine answer? Default: ask it (`<engine> version`). Tests hand in their own. */
  probeEngine?: ((kind: ProbedKind, binary: string, env: NodeJS.ProcessEnv) => Promise<{ ok: boolean; detail: string }>) | undefined;
  /** Default: is there an executable at this path. */
  isExecutable?: ((path: string, env: NodeJS.ProcessEnv) => boolean) | undefined;
}

interface DetectionContext {
  env: NodeJS.ProcessEnv;
  platform: NodeJS.Platform;
  arch: string;
  probeEngine: NonNullable<SelectionInput['probeEngine']>;
  isExecutable: NonNullable<SelectionInput['isExecutable']>;
}

interface DetectionStrategy {
  kind: RuntimeKind;
  detect(context: DetectionContext): Promise<DetectionReport>;
}


/** Apple `container` first (one VM per container), then docker, then podman, then the host. */
const STRATEGIES: readonly DetectionStrategy[] = [
  {
    kind: 'apple',
    async detect({ env, platform, arch, isExecutable, probeEngine }) {
      if (platform !== 'darwin' || arch !== 'arm64') {
        return { kind: 'apple', applies: false, reason: `needs macOS on Apple Silicon; this is ${platform}/${arch}.` };
      }
      const binary = env['BERTH_CONTAINER_BIN'] || APPLE_CONTAINER_DEFAULT_BIN;
      if (!isExecutable(binary, env)) {
        return { kind: 'apple', applies: false, reason: `no Apple container CLI at ${binary} (install it from Apple's container releases).` };
      }
      // A stopped system does not apply: detection never starts it (doctor --fix or config does).
      const probe = await probeEngine('apple', binary, env);
      return { kind: 'apple', applies: probe.ok, reason: probe.detail };
    },
  },
  engineStrategy('docker', 'BERTH_DOCKER_BIN'),
  engineStrategy('podman', 'BERTH_PODMAN_BIN'),
  {
    kind: 'host',
    detect: () => Promise.resolve({ kind: 'host', applies: true, reason: 'always available: runs on this machine without isolation.' }),
  },
];

function engineStrategy(kind: 'docker' | 'podman', binaryVar: string): DetectionStrategy {
  return {
    kind,
    async detect({ env, probeEngine, isExecutable }) {
      const binary = env[binaryVar] || kind;
      if (!isExecutable(binary, env)) {
        return { kind, applies: false, reason: `\`${binary}\` not found${binary.includes('/') ? '' : ' on PATH'} (install ${kind}, or set ${binaryVar}).` };
      }
      const probe = await probeEngine(kind, binary, env);
      return { kind, applies: probe.ok, reason: probe.detail };
    },
  };
}

/**
 * Chooses the runtime: --runtime > BERTH_RUNTIME > config > the workspace's own runtime (ledger) >
 * detection. An explicit choice is taken
 * as given (its failures are reported when it is used); `auto`, or no choice at all, runs detection,
 * where host mode is the fallback that keeps core work going.
 */
export async function selectRuntime(input: SelectionInput = {}): Promise<RuntimeSelection> {
  const env = input.env ?? process.env;
  const explicit: [RuntimeSelection['source'], string, string | undefined][] = [
    ['flag', '--runtime', input.flag],
    ['env', 'BERTH_RUNTIME', env['BERTH_RUNTIME']],
    ['config', 'the config file (runtime)', input.configRuntime],
  ];
  for (const [source, where, value] of explicit) {
    if (value === undefined || value === '') continue;
    const choice = parseRuntimeChoice(value, where);
    if (choice === 'auto') break;
    return { kind: choice, source, reports: [] };
  }
  if (input.ledgerRuntime !== undefined) return { kind: input.ledgerRuntime, source: 'ledger', reports: [] };
  const reports = await detectRuntimes(input);
  const chosen = reports.find((r) => r.applies && r.kind !== 'host');
  return chosen ? { kind: chosen.kind, source: 'detected', reports } : { kind: 'host', source: 'fallback', reports };
}

/** Runs every detection strategy and reports on each, for selection and for `berth doctor`. */
export async function detectRuntimes(input: SelectionInput = {}): Promise<DetectionReport[]> {
  const context: DetectionContext = {
    env: input.env ?? process.env,
    platform: input.platform ?? process.platform,
    arch: input.arch ?? process.arch,
    probeEngine: input.probeEngine ?? probeEngine,
    isExecutable: input.isExecutable ?? ((path, env) => resolveExecutable(path, env) !== undefined),
  };
  return Promise.all(STRATEGIES.map((strategy) => strategy.detect(context)));
}

export function parseRuntimeChoice(value: string, where: string): RuntimeChoice {
  if (isRuntimeChoice(value)) return value;
  throw new BerthError('E_INVALID_INPUT', `Unknown runtime ${JSON.stringify(value)} (from ${where}).`, {
    hint: `Use one of: ${RUNTIME_CHOICES.join(', ')}.`,
  });
}

async function probeEngine(kind: ProbedKind, binary: string, env: NodeJS.ProcessEnv): Promise<{ ok: boolean; detail: string }> {
  const runtime =
    kind === 'apple'
      ? new (await import('./apple/apple-runtime.js')).AppleRuntime({ binary, env })
      : new (await import('./oci/oci-runtime.js')).OciRuntime(kind, { binary, env });
  const status = await runtime.ensureSystem({ start: false });
  return { ok: status.running, detail: status.detail };
}

export interface CreateRuntimeOptions {
  /** Berth's state folder; host mode keeps its records under it. */
  home: string;
  env?: NodeJS.ProcessEnv | undefined;
  /** May a runtime's stopped system service be started (Apple): config, or `doctor --fix`. */
  startSystem?: boolean | undefined;
  /** Told when the runtime started its stopped system service itself (Apple), to record it. */
  onSystemStarted?: ((detail: string) => void) | undefined;
}

/** Builds the adapter for a runtime kind. Adapters load lazily so the CLI starts fast. */
export async function createRuntime(kind: RuntimeKind, options: CreateRuntimeOptions): Promise<Runtime> {
  switch (kind) {
    case 'docker':
    case 'podman': {
      const { OciRuntime } = await import('./oci/oci-runtime.js');
      return new OciRuntime(kind, { env: options.env });
    }
    case 'host': {
      const { HostRuntime } = await import('./host/host-runtime.js');
      return new HostRuntime({ stateDir: join(options.home, 'host') });
    }
    case 'apple': {
      const { AppleRuntime } = await import('./apple/apple-runtime.js');
      return new AppleRuntime({ env: options.env, startSystem: options.startSystem, onSystemStarted: options.onSystemStarted });
    }
  }
}
