import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { BerthError } from '../errors.js';
import { run, runStreaming } from '../process/run.js';
import { COMPOSE_LABELS } from './labels.js';

/**
 * A devcontainer.json with `dockerComposeFile` + `service`: the workspace is the named service,
 * the others are the engine's compose project. Berth creates the workspace container itself (its
 * keep-alive, labels, ledger, exec fence) from the service's image or build, and joins it to the
 * project's network under the service's name; the engine's compose tool (`docker compose`,
 * `docker-compose`, `podman compose`, `podman-compose`) runs the other services, labelled as Berth's
 * (an override file), stopped with the workspace and removed with it.
 */

/** What the compose files say about the workspace's service. */
export interface ComposeWorkspace {
  /** The service's image, when it has no build. */
  image: string | null;
  build: { context: string; dockerfile: string; args: Record<string, string>; target: string | null } | null;
  environment: Record<string, string>;
  /** The other services to run: runServices (or every service), less the workspace's own. */
  others: string[];
  /** The files' text hashed: an edited compose file is drift. */
  hash: string;
  /** What the workspace's container does not take from its service definition (said, not dropped silently). */
  notes: string[];
}

/** How the project is run: recorded with the workspace, so stop and rm find it without the files. */
export interface ComposeProject {
  /** argv prefix of the compose tool, e.g. ['docker', 'compose'] or ['podman-compose', '--podman-path', 'podman']. */
  tool: string[];
  project: string;
  /** The user's files, then Berth's override (labels). */
  files: string[];
  /** The project's network the workspace joins. */
  network: string;
  service: string;
  others: string[];
  /** shutdownAction: stopCompose (default) stops the other services with the workspace; none leaves them. */
  stopWithWorkspace: boolean;
}

type Service = Record<string, unknown>;

/** Reads the workspace's service out of the compose files (later files override earlier ones, key by key). */
export function readComposeWorkspace(files: string[], service: string, runServices: string[] | null): ComposeWorkspace {
  const services: Record<string, Service> = {};
  const texts: string[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (cause) {
      throw new BerthError('E_INVALID_INPUT', `Cannot read the compose file ${file}: ${(cause as Error).message}`, { hint: 'Check dockerComposeFile: it is relative to the devcontainer.json.', cause });
    }
    texts.push(text);
    let doc: unknown;
    try {
      doc = parseYaml(text);
    } catch (cause) {
      throw new BerthError('E_INVALID_INPUT', `${file} is not YAML: ${(cause as Error).message}`, { hint: 'Fix the compose file.', cause });
    }
    const declared = isObject(doc) && isObject(doc['services']) ? doc['services'] : {};
    for (const [name, definition] of Object.entries(declared)) services[name] = { ...services[name], ...(isObject(definition) ? definition : {}) };
  }
  const own = services[service];
  if (own === undefined) {
    throw new BerthError('E_INVALID_INPUT', `The compose files (${files.join(', ')}) have no service "${service}".`, { hint: `Set "service" to one of: ${Object.keys(services).join(', ') || '(none)'}.` });
  }
  const notes: string[] = [];
  const base = dirname(files[0] ?? '.');
  let build: ComposeWorkspace['build'] = null;
  const rawBuild = own['build'];
  if (typeof rawBuild === 'string' || isObject(rawBuild)) {
    const spec = typeof rawBuild === 'string' ? { context: rawBuild } : rawBuild;
    const context = resolve(base, typeof spec['context'] === 'string' ? spec['context'] : '.');
    const args = isObject(spec['args']) ? stringRecord(spec['args']) : Array.isArray(spec['args']) ? listRecord(spec['args']) : {};
    build = { context, dockerfile: resolve(context, typeof spec['dockerfile'] === 'string' ? spec['dockerfile'] : 'Dockerfile'), args, target: typeof spec['target'] === 'string' ? spec['target'] : null };
  }
  const image = typeof own['image'] === 'string' ? own['image'] : null;
  if (build === null && image === null) throw new BerthError('E_INVALID_INPUT', `The compose service "${service}" has neither image nor build.`, { hint: 'Give the service an image or a build.' });
  const env = own['environment'];
  const environment = isObject(env) ? stringRecord(env) : Array.isArray(env) ? listRecord(env) : {};
  for (const key of ['volumes', 'ports', 'command', 'entrypoint', 'user', 'cap_add', 'network_mode']) {
    if (own[key] !== undefined) notes.push(`compose service "${service}": ${key} is not applied to the workspace container (Berth mounts the workspace folder and runs its own keep-alive)`);
  }
  const wanted = runServices ?? Object.keys(services);
  for (const name of wanted) {
    if (services[name] === undefined) throw new BerthError('E_INVALID_INPUT', `runServices names "${name}", which the compose files do not have.`, { hint: `Services: ${Object.keys(services).join(', ')}.` });
    const mode = services[name]['network_mode'];
    if (name !== service && typeof mode === 'string' && mode.startsWith('service:')) {
      throw new BerthError('E_UNSUPPORTED', `The compose service "${name}" shares another's network (network_mode: ${mode}); Berth's workspace container is not a compose service it can share.`, {
        hint: 'Remove network_mode and reach the service by its name.',
      });
    }
  }
  const hash = createHash('sha256').update(JSON.stringify(texts)).digest('hex').slice(0, 16);
  return { image, build, environment, others: wanted.filter((name) => name !== service), hash, notes };
}

/** The project's name: Berth's prefix and the workspace id, in the characters compose accepts. */
export function composeProjectName(workspace: string): string {
  return `berth-${workspace.toLowerCase().replace(/[^a-z0-9_-]/g, '-')}`;
}

/**
 * The compose tool for an engine, the first that answers `version`: the engine's own subcommand,
 * then the standalone one. Apple's container and host mode have none.
 */
export async function findComposeTool(kind: string, binary: string, env: NodeJS.ProcessEnv): Promise<string[]> {
  requireComposeRuntime(kind);
  const candidates = kind === 'docker' ? [[binary, 'compose'], ['docker-compose']] : [[binary, 'compose'], ['podman-compose', '--podman-path', binary]];
  for (const tool of candidates) {
    const answered = await run([...tool, 'version'], { env, timeoutMs: 20_000, okExitCodes: 'any' }).then(
      (r) => r.exitCode === 0,
      () => false,
    );
    if (answered) return tool;
  }
  throw new BerthError('E_RUNTIME_UNAVAILABLE', `No compose tool answers for ${kind}: tried ${candidates.map((c) => c.join(' ')).join(', ')}.`, {
    hint: kind === 'docker' ? 'Install the compose plugin or docker-compose (Debian: apt-get install docker-compose).' : 'Install podman-compose (Debian: apt-get install podman-compose).',
  });
}

/**
 * Compose needs docker or podman: Apple `container` has no compose tool and no network its
 * containers share by name (nor does host mode). Checked before anything is built or started.
 */
export function requireComposeRuntime(kind: string): void {
  if (kind === 'docker' || kind === 'podman') return;
  throw new BerthError('E_UNSUPPORTED', `Compose is not available on ${kind === 'apple' ? 'Apple container' : `the ${kind} runtime`}: it has no compose tool and no shared project network.`, {
    hint: 'Bring the workspace up on docker or podman (--runtime docker|podman), or describe it with image or build.dockerfile (one container) and run the other services yourself.',
  });
}

/**
 * Writes Berth's override (the other services labelled as this installation's workspace's) beside
 * its state and returns the project as it will be run.
 */
export function composeProject(options: { tool: string[]; workspace: string; owner: string; home: string; files: string[]; service: string; others: string[]; stopWithWorkspace: boolean }): ComposeProject {
  const project = composeProjectName(options.workspace);
  const labels = { [COMPOSE_LABELS.workspace]: options.workspace, [COMPOSE_LABELS.owner]: options.owner };
  const override = join(options.home, 'devcontainer-compose', `${project}.json`);
  mkdirSync(dirname(override), { recursive: true });
  // JSON is YAML: every compose tool reads it.
  writeFileSync(override, `${JSON.stringify({ services: Object.fromEntries(options.others.map((name) => [name, { labels }])) }, null, 2)}\n`);
  return { tool: options.tool, project, files: [...options.files, override], network: `${project}_default`, service: options.service, others: options.others, stopWithWorkspace: options.stopWithWorkspace };
}

const COMPOSE_TIMEOUT_MS = 30 * 60_000;

function composeArgv(project: ComposeProject, args: string[]): string[] {
  return [...project.tool, '-p', project.project, ...project.files.flatMap((file) => ['-f', file]), ...args];
}

/** Starts (creating or updating) the other services; their output goes to `onOutput`. */
export async function composeUp(project: ComposeProject, env: NodeJS.ProcessEnv, onOutput?: (chunk: Buffer) => void): Promise<void> {
  if (project.others.length === 0) {
    // The network the workspace joins is the project's: made even when no other service runs.
    await run(composeArgv(project, ['up', '--no-start']), { env, timeoutMs: COMPOSE_TIMEOUT_MS, okExitCodes: 'any' });
    return;
  }
  await runCompose(project, ['up', '-d', '--no-deps', ...project.others], env, onOutput);
}

export async function composeStop(project: ComposeProject, env: NodeJS.ProcessEnv): Promise<void> {
  if (!project.stopWithWorkspace || project.others.length === 0) return;
  await runCompose(project, ['stop', ...project.others], env);
}

/** Removes the other services' containers and the project network (named volumes stay: they hold data). */
export async function composeDown(project: ComposeProject, env: NodeJS.ProcessEnv, binary: string): Promise<void> {
  await runCompose(project, ['down'], env);
  // podman-compose's down leaves the project network; the others have removed it already.
  await run([binary, 'network', 'rm', project.network], { env, timeoutMs: 60_000, okExitCodes: 'any' });
}

async function runCompose(project: ComposeProject, args: string[], env: NodeJS.ProcessEnv, onOutput?: (chunk: Buffer) => void): Promise<void> {
  const argv = composeArgv(project, args);
  const output: Buffer[] = [];
  const keep = (chunk: Buffer): void => {
    output.push(chunk);
    onOutput?.(chunk);
  };
  const result = await runStreaming(argv, { env, timeoutMs: COMPOSE_TIMEOUT_MS, okExitCodes: 'any', onStdout: keep, onStderr: keep });
  if (result.exitCode !== 0) {
    const tail = Buffer.concat(output).toString('utf8').trim().split('\n').slice(-10).join('\n');
    throw new BerthError('E_RUNTIME_FAILED', `${project.tool.join(' ')} ${args[0] ?? ''} failed (exit ${String(result.exitCode)}) for project ${project.project}:\n${tail}`, {
      hint: 'Fix the compose files (the output above says where), then run berth up again.',
      details: { argv },
    });
  }
}

/**
 * Joins the workspace's container to the project network under the service's name, so the other
 * services reach it by that name and it reaches them by theirs. Already joined: nothing to do.
 */
export async function joinProjectNetwork(binary: string, env: NodeJS.ProcessEnv, project: ComposeProject, container: string): Promise<void> {
  const result = await run([binary, 'network', 'connect', '--alias', project.service, project.network, container], { env, timeoutMs: 60_000, okExitCodes: 'any' });
  if (result.exitCode !== 0 && !/already (exists|connected)|is already/i.test(result.stderr)) {
    throw new BerthError('E_RUNTIME_FAILED', `Cannot join the workspace to the compose network ${project.network}: ${result.stderr.trim()}`, { hint: 'Check that the compose project came up (berth status), then run berth up again.' });
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function stringRecord(value: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null && v !== undefined).map(([k, v]) => [k, String(v)]));
}

/** `["A=1", "B"]`: compose's list form (a bare name takes the value from the host; Berth leaves it out). */
function listRecord(value: unknown[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of value) {
    if (typeof item !== 'string' || !item.includes('=')) continue;
    out[item.slice(0, item.indexOf('='))] = item.slice(item.indexOf('=') + 1);
  }
  return out;
}
