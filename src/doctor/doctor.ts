import { randomUUID } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { berthHome, loadConfig } from '../config.js';
import { isBerthError, isErrno } from '../errors.js';
import { createRuntime, detectRuntimes, selectRuntime, type RuntimeSelection } from '../runtime/select.js';
import type { Runtime, RuntimeCapabilities } from '../runtime/types.js';
import { DEFAULT_IMAGE } from '../workspace/spec.js';
import { missingImageHint } from '../workspace/image-source.js';
import { auditHome } from '../state/private-files.js';

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface DoctorCheck {
  id: string;
  status: CheckStatus;
  detail: string;
  /** What to do about a warn or fail. */
  fix?: string | undefined;
}

export interface DoctorReport {
  ok: boolean;
  /**
   * The runtime chosen, and what would confine a workspace on it now (the capability, as this
   * machine answers it: host mode is `sandbox` only where bubblewrap can make its namespaces).
   */
  runtime: { kind: string; source: RuntimeSelection['source']; isolation?: RuntimeCapabilities['isolation'] | undefined } | null;
  checks: DoctorCheck[];
}

export interface DoctorOptions {
  env?: NodeJS.ProcessEnv | undefined;
  runtime?: string | undefined;
  image?: string | undefined;
  /** Apply the safe fixes: create the state folder, start a stopped Apple container system. */
  fix?: boolean | undefined;
}

const MIN_NODE_MAJOR = 20;

/** Preflight: what Berth needs, what is missing, and how to fix it. Never throws for a failed check. */
export async function runDoctor(options: DoctorOptions = {}): Promise<DoctorReport> {
  const env = options.env ?? process.env;
  const home = berthHome(env);
  const checks: DoctorCheck[] = [nodeCheck(), stateDirCheck(home, options.fix ?? false), stateModesCheck(home, options.fix ?? false)];

  for (const report of await detectRuntimes({ env })) {
    checks.push({ id: `detect.${report.kind}`, status: report.applies ? 'ok' : 'warn', detail: report.reason });
  }

  let selection: RuntimeSelection;
  try {
    selection = await selectRuntime({ flag: options.runtime, configRuntime: loadConfig(home).runtime, env });
  } catch (error) {
    checks.push(failure('runtime.selected', error));
    return finish(checks, null);
  }
  checks.push({
    id: 'runtime.selected',
    status: selection.kind === 'host' ? 'warn' : 'ok',
    detail: `${selection.kind} (chosen by ${describeSource(selection.source)})`,
    fix: selection.kind === 'host' ? 'Install docker or podman (or Apple container on an Apple Silicon Mac) for isolated workspaces.' : undefined,
  });

  let runtime: Runtime;
  try {
    runtime = await createRuntime(selection.kind, { home, env, startSystem: options.fix ?? false });
  } catch (error) {
    checks.push(failure('runtime.adapter', error));
    return finish(checks, selection);
  }
  const system = await runtime.ensureSystem({ start: options.fix ?? false });
  checks.push({
    id: 'runtime.reachable',
    status: system.running ? 'ok' : 'fail',
    detail: system.detail,
    fix: system.running
      ? undefined
      : runtime.capabilities.systemService
        ? 'Run `berth doctor --fix` to start it (or `container system start`); until then Berth falls back to another runtime.'
        : `Start ${selection.kind}, or choose another runtime with --runtime.`,
  });
  if (runtime.kind === 'apple') {
    const [{ appleChecks }, { AppleRuntime }] = await Promise.all([import('./apple-checks.js'), import('../runtime/apple/apple-runtime.js')]);
    if (runtime instanceof AppleRuntime) checks.push(...(await appleChecks(runtime, system.running)));
  }
  let isolation = runtime.capabilities.isolation;
  if (isolation !== 'container') {
    // Host mode: sandboxed where bubblewrap can make namespaces, and a warn either way (a shared kernel, no container IP).
    const { probeSandbox } = await import('../runtime/host/sandbox.js');
    const sandbox = await probeSandbox();
    isolation = sandbox.works ? 'sandbox' : 'none';
    checks.push({
      id: 'runtime.isolation',
      status: 'warn',
      detail: sandbox.works
        ? `isolation: sandbox (host mode): ${sandbox.detail} Egress is enforced where declared; no container IP, no resource limits, the host's kernel.`
        : `isolation: none (host mode cannot be sandboxed here): ${sandbox.detail} \`berth up\` refuses unless you choose --unconfined (no isolation, no egress enforcement).`,
      fix: sandbox.works ? 'Use a container runtime for a separate kernel and resource limits.' : sandbox.hint,
    });
  }
  if (system.running && runtime.capabilities.images) checks.push(await imageCheck(runtime, options.image ?? DEFAULT_IMAGE));
  if (system.running && (runtime.kind === 'docker' || runtime.kind === 'podman')) {
    const { engineApiCheck } = await import('./engine-api-check.js');
    checks.push(await engineApiCheck(runtime, options.image ?? DEFAULT_IMAGE));
  }
  return finish(checks, selection, isolation);
}

function nodeCheck(): DoctorCheck {
  const major = Number(process.versions.node.split('.')[0]);
  return major >= MIN_NODE_MAJOR
    ? { id: 'node', status: 'ok', detail: `Node.js ${process.versions.node}` }
    : { id: 'node', status: 'fail', detail: `Node.js ${process.versions.node} is too old`, fix: `Install Node.js ${String(MIN_NODE_MAJOR)} or newer.` };
}

function stateDirCheck(home: string, fix: boolean): DoctorCheck {
  try {
    if (fix) mkdirSync(home, { recursive: true, mode: 0o700 });
    const probe = join(home, `.doctor-${randomUUID()}`);
    writeFileSync(probe, 'ok');
    rmSync(probe);
    return { id: 'state.writable', status: 'ok', detail: `${home} is writable` };
  } catch (error) {
    const missing = isErrno(error, 'ENOENT');
    return {
      id: 'state.writable',
      status: missing ? 'warn' : 'fail',
      detail: missing ? `${home} does not exist yet (created on first use)` : `${home} is not writable: ${(error as Error).message}`,
      fix: missing ? 'Run `berth doctor --fix` to create it now.' : `Fix the permissions of ${home}, or set BERTH_HOME to a writable folder.`,
    };
  }
}

/** Tokens and env values live in $BERTH_HOME: nobody but this user may read any of it. */
function stateModesCheck(home: string, fix: boolean): DoctorCheck {
  const loose = auditHome(home, false);
  if (loose.length === 0) return { id: 'state.private', status: 'ok', detail: `${home}: folders 0700, files 0600` };
  const octal = (mode: number): string => `0${mode.toString(8)}`;
  const list = loose.slice(0, 5).map((e) => `${e.path} is ${octal(e.mode)} (want ${octal(e.want)})`).join('; ') + (loose.length > 5 ? `; and ${String(loose.length - 5)} more` : '');
  if (fix) {
    auditHome(home, true);
    const left = auditHome(home, false);
    if (left.length === 0) return { id: 'state.private', status: 'ok', detail: `tightened: ${list}` };
    return { id: 'state.private', status: 'fail', detail: `could not tighten: ${left.map((e) => e.path).join(', ')}`, fix: `Make ${home} yours (chown), or set BERTH_HOME to a folder you own.` };
  }
  return { id: 'state.private', status: 'warn', detail: `readable by others: ${list}`, fix: 'Run `berth doctor --fix` to make folders 0700 and files 0600 (Berth also tightens them when it opens its state).' };
}

async function imageCheck(runtime: Runtime, image: string): Promise<DoctorCheck> {
  try {
    const info = await runtime.imageInspect(image);
    return { id: 'image.present', status: 'ok', detail: `${image} (${info.id.slice(0, 12)})` };
  } catch (error) {
    if (!isBerthError(error, 'E_NOT_FOUND')) return failure('image.present', error);
    return {
      id: 'image.present',
      status: 'warn',
      detail: `${image} is not in ${runtime.kind}; workspaces need an image`,
      fix: missingImageHint(runtime.kind, image),
    };
  }
}

function failure(id: string, error: unknown): DoctorCheck {
  return {
    id,
    status: 'fail',
    detail: error instanceof Error ? error.message : String(error),
    fix: isBerthError(error) ? error.hint : undefined,
  };
}

function describeSource(source: RuntimeSelection['source']): string {
  const sources: Record<RuntimeSelection['source'], string> = {
    flag: '--runtime',
    env: 'BERTH_RUNTIME',
    config: 'the config file',
    ledger: 'the runtime the workspace was created on',
    detected: 'detection',
    fallback: 'fallback: no container runtime answered',
  };
  return sources[source];
}

function finish(checks: DoctorCheck[], selection: RuntimeSelection | null, isolation?: RuntimeCapabilities['isolation']): DoctorReport {
  return {
    ok: checks.every((c) => c.status !== 'fail'),
    runtime: selection ? { kind: selection.kind, source: selection.source, ...(isolation === undefined ? {} : { isolation }) } : null,
    checks,
  };
}
