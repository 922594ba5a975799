import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, resolve } from 'node:path';
import { isMap, isPair, isScalar, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { BerthError } from '../errors.js';
import { parseRule } from '../egress/policy.js';
import { parseMemory, type WorkspaceSpecInput } from '../workspace/spec.js';
import { isSandboxKind, manifestSchema, type Manifest, type ManifestDevServer } from './manifest-schema.js';

/** One problem in a manifest: where, what, and (in the message) how to fix it. */
export interface ManifestProblem {
  file: string;
  line: number;
  column: number;
  /** Dotted path of the value, e.g. `workspaces.web.cpus`; empty for the file itself. */
  path: string;
  message: string;
}

/** A health probe with its timing in milliseconds and the defaults filled in. */
export interface DeclaredProbe {
  check: { kind: 'exec'; command: string[] } | { kind: 'http'; path: string; port: number | undefined } | { kind: 'tcp'; port: number };
  intervalMs: number;
  timeoutMs: number;
  /** Failures in a row before unhealthy (at least 1). */
  retries: number;
}

export interface DeclaredDevServer {
  name: string;
  command: string[];
  cwd: string | undefined;
  port: number | undefined;
  env: Record<string, string>;
  health: DeclaredProbe | undefined;
  restart: 'no' | 'on-failure' | 'always';
}

/**
 * `devcontainer:` of a workspace: it comes up from this devcontainer.json as `berth up
 * --devcontainer` does; `spec` is then the base its settings lay over (cpus, memory, env...).
 */
export interface DeclaredDevcontainer {
  /** Absolute path of the devcontainer.json; undefined: found in the root as `berth devcontainer read` finds it. */
  config: string | undefined;
  /** `runInitializeCommand: true`: the config's initializeCommand may run on this machine. */
  runInitializeCommand: boolean;
  /** `allowPrivileged: true`: the config's privileges beyond the engine's defaults are granted (`--allow-privileged`). */
  allowPrivileged?: true | undefined;
}

export interface DeclaredWorkspace {
  id: string;
  spec: WorkspaceSpecInput;
  /** Brought up from a devcontainer.json (then `spec` is the base over it). */
  devcontainer?: DeclaredDevcontainer | undefined;
  /** An explicit runtime, or `sandbox: vm` (Apple where present) / `shared-kernel` (docker or podman). */
  runtime: string | undefined;
  sandbox: 'vm' | 'shared-kernel' | undefined;
  restart: 'no' | 'on-failure' | 'always';
  health: DeclaredProbe | undefined;
  devServers: DeclaredDevServer[];
}

export interface DeclaredState {
  file: string;
  /** `budget.memory` in bytes: the manifest's cap on declared memory (null: the default). */
  memoryBudget: number | null;
  workspaces: DeclaredWorkspace[];
}

/** Reads and checks a manifest file; every problem is reported at once, with file:line:column. */
export function loadManifest(file: string): DeclaredState {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new BerthError('E_INVALID_INPUT', `Cannot read ${file}: ${(cause as Error).message}`, { hint: 'Pass the manifest with -f, or create berth.yaml here.', cause });
  }
  return parseManifest(text, file);
}

/**
 * Does this manifest still declare the workspace? A file that is gone does not; one that cannot be
 * read or parsed is taken to (cleanup must never act on a manifest it cannot read).
 */
export function stillDeclares(file: string, workspace: string): boolean {
  if (!existsSync(file)) return false;
  try {
    return loadManifest(file).workspaces.some((w) => w.id === workspace);
  } catch {
    return true;
  }
}

/**
 * parse (YAML, positions kept) → validate (the schema: shapes, unknown keys) → named rules (what a
 * schema cannot say: sizes, egress patterns) → normalize (paths resolved against the file's folder).
 */
export function parseManifest(text: string, file: string): DeclaredState {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number | undefined, path: string, message: string): ManifestProblem => {
    const { line, col } = lines.linePos(offset ?? 0);
    return { file: basename(file), line, column: col, path, message };
  };
  const problems: ManifestProblem[] = doc.errors.map((e) => at(e.pos[0], '', syntaxMessage(e.code, e.message)));
  if (problems.length > 0) throw manifestError(file, problems);

  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 }) ?? {};
  } catch (error) {
    // Aliases are resolved here, not while parsing: a missing anchor or an alias bomb ends up here.
    const message = error instanceof Error ? error.message : String(error);
    const alias = /\*([\w.-]+)/.exec(text);
    const why = /Excessive alias count/.test(message) ? 'aliases expand too much; write the values out' : `alias *${alias?.[1] ?? '?'} has no anchor; define &${alias?.[1] ?? 'name'} before using it`;
    throw manifestError(file, [at(alias?.index, '', why)]);
  }
  const result = manifestSchema.safeParse(raw);
  if (!result.success) for (const issue of result.error.issues) problems.push(...issueProblems(issue, doc, at));
  // The rules read the raw document too, so their problems come in the same pass as the schema's.
  problems.push(...ruleProblems(raw, doc, at));
  if (!result.success || problems.length > 0) throw manifestError(file, sortProblems(dedupe(problems)));
  return normalize(result.data, file);
}

type At = (offset: number | undefined, path: string, message: string) => ManifestProblem;

function issueProblems(issue: z.core.$ZodIssue, doc: Document, at: At): ManifestProblem[] {
  const path = issue.path.map(String);
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => at(keyOffset(doc, path, key), [...path, key].join('.'), `unknown key "${key}"; ${knownKeysHint(path)}`));
  }
  const node = doc.getIn(path, true) as Node | undefined;
  if (node === undefined && path.length > 0 && issue.code !== 'custom') {
    const parent = path.slice(0, -1);
    return [at(nodeOffset(doc, parent), path.join('.'), `missing "${path.at(-1) ?? ''}": ${issue.message}`)];
  }
  if (issue.code === 'invalid_key') return [at(keyOffset(doc, path.slice(0, -1), path.at(-1) ?? ''), path.join('.'), issue.issues[0]?.message ?? issue.message)];
  return [at(node?.range?.[0] ?? nodeOffset(doc, path), path.join('.') || '(top level)', issue.message)];
}

/**
 * What the schema cannot say: egress patterns that parse, memory sizes in range. Reads the raw
 * document defensively (only values of the right type), so it can run when the schema failed too.
 */
function ruleProblems(raw: unknown, doc: Document, at: At): ManifestProblem[] {
  const problems: ManifestProblem[] = [];
  const checkSize = (value: unknown, path: string[]): void => {
    const bad = typeof value === 'number' ? !(Number.isSafeInteger(value) && value > 0) : typeof value === 'string' && !parsesAsMemory(value);
    if (bad) problems.push(at(nodeOffset(doc, path), path.join('.'), 'must be a size such as 512m or 2g (or a whole number of bytes)'));
  };
  checkSize(asRecord(asRecord(raw)?.['budget'])?.['memory'], ['budget', 'memory']);
  const workspaces = asRecord(asRecord(raw)?.['workspaces']) ?? {};
  for (const [id, value] of Object.entries(workspaces)) {
    const ws = asRecord(value) ?? {};
    checkSize(ws['memory'], ['workspaces', id, 'memory']);
    problems.push(...devcontainerProblems(ws, ['workspaces', id], doc, at));
    const health = asRecord(ws['health']);
    if (health && typeof health['http'] === 'string' && health['port'] === undefined) {
      problems.push(at(nodeOffset(doc, ['workspaces', id, 'health', 'http']), `workspaces.${id}.health.http`, 'a workspace has no port of its own: add port, the port inside the workspace to GET (or probe a dev server)'));
    }
    const egress = asRecord(ws['egress']) ?? {};
    for (const list of ['allow', 'deny'] as const) {
      const patterns = egress[list];
      if (!Array.isArray(patterns)) continue;
      patterns.forEach((pattern: unknown, index) => {
        if (typeof pattern !== 'string') return;
        try {
          parseRule(pattern);
        } catch (error) {
          problems.push(at(nodeOffset(doc, ['workspaces', id, 'egress', list, index]), `workspaces.${id}.egress.${list}.${String(index)}`, (error as Error).message));
        }
      });
    }
  }
  return problems;
}

/**
 * The devcontainer.json says the image and who the workspace runs as (containerUser/remoteUser):
 * the same said in the manifest too would be two answers to one question, so it is refused where
 * it is written. runInitializeCommand or allowPrivileged without a devcontainer would silently do nothing.
 */
const DEVCONTAINER_CONFLICTS: Record<string, string> = {
  image: 'the devcontainer.json names the image (image, build or dockerComposeFile); remove image here',
  user: 'the devcontainer.json says who the workspace runs as (containerUser/remoteUser); remove user here',
};

function devcontainerProblems(ws: Record<string, unknown>, path: string[], doc: Document, at: At): ManifestProblem[] {
  const problems: ManifestProblem[] = [];
  const from = ws['devcontainer'];
  if (from === true || (typeof from === 'string' && from !== '')) {
    for (const [key, why] of Object.entries(DEVCONTAINER_CONFLICTS)) {
      if (ws[key] !== undefined) problems.push(at(keyOffset(doc, path, key), [...path, key].join('.'), `does not go with devcontainer: ${why}`));
    }
  } else {
    if (ws['runInitializeCommand'] !== undefined) {
      problems.push(at(keyOffset(doc, path, 'runInitializeCommand'), [...path, 'runInitializeCommand'].join('.'), 'goes with devcontainer: true | <path>: only a devcontainer.json has an initializeCommand'));
    }
    if (ws['allowPrivileged'] !== undefined) {
      problems.push(at(keyOffset(doc, path, 'allowPrivileged'), [...path, 'allowPrivileged'].join('.'), 'goes with devcontainer: true | <path>: only a devcontainer.json (its runArgs, privileged, capAdd, features) asks for privileges'));
    }
  }
  return problems;
}

function parsesAsMemory(text: string): boolean {
  try {
    parseMemory(text);
    return true;
  } catch {
    return false;
  }
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function dedupe(problems: ManifestProblem[]): ManifestProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${String(p.line)}:${String(p.column)}:${p.message}`;
    return seen.has(key) ? false : (seen.add(key), true);
  });
}

function normalize(manifest: Manifest, file: string): DeclaredState {
  const folder = dirname(resolve(file));
  const path = (p: string): string => (isAbsolute(p) ? p : resolve(folder, p));
  const workspaces = Object.entries(manifest.workspaces)
    .map(([id, ws]): DeclaredWorkspace => ({
      id,
      spec: {
        root: path(ws.root ?? '.'),
        image: ws.image,
        mounts: ws.mounts?.map((m) => (typeof m === 'string' ? pathWithMode(m, path) : { source: path(m.source), readOnly: m.readOnly })),
        env: ws.env,
        cpus: ws.cpus,
        memory: ws.memory,
        previewPorts: ws.previewPorts,
        user: ws.user,
        egress: ws.egress,
        sandbox: isSandboxKind(ws.sandbox) ? undefined : ws.sandbox,
      },
      ...(ws.devcontainer === undefined || ws.devcontainer === false
        ? {}
        : {
            devcontainer: {
              config: ws.devcontainer === true ? undefined : path(ws.devcontainer),
              runInitializeCommand: ws.runInitializeCommand ?? false,
              // Only when granted: declarations without it read (and compare) as they always did.
              ...(ws.allowPrivileged === true ? { allowPrivileged: true as const } : {}),
            },
          }),
      runtime: ws.runtime,
      sandbox: isSandboxKind(ws.sandbox) ? ws.sandbox : undefined,
      restart: ws.restart ?? 'no',
      health: normalizeProbe(ws.health),
      devServers: Object.entries(ws.devServers ?? {})
        .map(([name, d]) => ({
          name,
          command: typeof d.command === 'string' ? ['sh', '-c', d.command] : d.command,
          cwd: d.cwd,
          port: d.port,
          env: d.env ?? {},
          health: normalizeProbe(d.health),
          restart: d.restart ?? 'no',
        }))
        .sort((a, b) => (a.name < b.name ? -1 : 1)),
    }))
    .sort((a, b) => (a.id < b.id ? -1 : 1));
  const budget = manifest.budget?.memory;
  return { file: resolve(file), memoryBudget: budget === undefined ? null : parseMemory(budget), workspaces };
}

/** Probe timing when the manifest leaves it out: every 10 s, 2 s to answer, unhealthy after 3 failures. */
export const DEFAULT_PROBE_TIMING = { intervalMs: 10_000, timeoutMs: 2_000, retries: 3 } as const;

/** `500ms`, `10s`, `2m` (the schema has checked the shape) in milliseconds. */
function durationMs(text: string): number {
  const match = /^(\d+)(ms|s|m)$/.exec(text);
  const unit = match?.[2] === 'ms' ? 1 : match?.[2] === 's' ? 1_000 : 60_000;
  return Number(match?.[1] ?? 0) * unit;
}

function normalizeProbe(probe: ManifestDevServer['health']): DeclaredProbe | undefined {
  if (probe === undefined) return undefined;
  const check: DeclaredProbe['check'] =
    probe.exec !== undefined
      ? { kind: 'exec', command: typeof probe.exec === 'string' ? ['sh', '-c', probe.exec] : probe.exec }
      : probe.http !== undefined
        ? { kind: 'http', path: probe.http, port: probe.port }
        : { kind: 'tcp', port: probe.tcp ?? 0 };
  return {
    check,
    intervalMs: probe.interval === undefined ? DEFAULT_PROBE_TIMING.intervalMs : durationMs(probe.interval),
    timeoutMs: probe.timeout === undefined ? DEFAULT_PROBE_TIMING.timeoutMs : durationMs(probe.timeout),
    retries: Math.max(1, probe.retries ?? DEFAULT_PROBE_TIMING.retries),
  };
}

function pathWithMode(mount: string, path: (p: string) => string): string {
  const ro = mount.endsWith(':ro');
  const rw = mount.endsWith(':rw');
  const source = ro || rw ? mount.slice(0, -3) : mount;
  return `${path(source)}${ro ? ':ro' : ''}`;
}

function nodeOffset(doc: Document, path: readonly (string | number)[]): number | undefined {
  for (let depth = path.length; depth >= 0; depth--) {
    const node = (depth === 0 ? doc.contents : doc.getIn(path.slice(0, depth), true)) as Node | null | undefined;
    if (node?.range) return node.range[0];
  }
  return 0;
}

function keyOffset(doc: Document, path: readonly string[], key: string): number | undefined {
  const parent = (path.length === 0 ? doc.contents : doc.getIn(path, true));
  if (isMap(parent)) {
    for (const pair of parent.items) {
      if (isPair(pair) && isScalar(pair.key) && String(pair.key.value) === key) return pair.key.range?.[0];
    }
  }
  return nodeOffset(doc, path);
}

const KNOWN_KEYS: Record<string, string[]> = {
  '': ['version', 'budget', 'workspaces'],
  budget: ['memory'],
  workspace: ['root', 'image', 'runtime', 'sandbox', 'mounts', 'env', 'cpus', 'memory', 'previewPorts', 'user', 'egress', 'restart', 'health', 'devServers', 'devcontainer', 'runInitializeCommand', 'allowPrivileged'],
  egress: ['allow', 'deny'],
  devServer: ['command', 'cwd', 'port', 'env', 'health', 'restart'],
  health: ['exec', 'http', 'tcp', 'port', 'interval', 'timeout', 'retries'],
  mount: ['source', 'readOnly'],
};

/** Which kind of map a path points into, by its shape (a dev server may well be named "health"). */
function knownKeysHint(path: readonly string[]): string {
  const shape = path.map((part, i) => (i === 1 || (i === 3 && path[2] === 'devServers') || (i === 3 && path[2] === 'mounts') ? '*' : part)).join('.');
  const kinds: Record<string, string> = {
    '': '',
    budget: 'budget',
    'workspaces.*': 'workspace',
    'workspaces.*.egress': 'egress',
    'workspaces.*.health': 'health',
    'workspaces.*.devServers.*': 'devServer',
    'workspaces.*.devServers.*.health': 'health',
    'workspaces.*.mounts.*': 'mount',
  };
  const kind = kinds[shape];
  const keys = kind === undefined ? undefined : KNOWN_KEYS[kind];
  return keys ? `known keys here: ${keys.join(', ')}` : 'check the spelling';
}

function syntaxMessage(code: string, message: string): string {
  if (code === 'DUPLICATE_KEY') return 'a key appears twice in the same map; keep one';
  if (code === 'MULTIPLE_DOCS') return 'a manifest is one YAML document: remove the second "---"';
  if (/call stack/i.test(message)) return 'YAML syntax: nested too deeply';
  const first = message.split('\n')[0] ?? message;
  return `YAML syntax: ${first.replace(/ at line \d+, column \d+:?$/, '')}`;
}

function sortProblems(problems: ManifestProblem[]): ManifestProblem[] {
  return [...problems].sort((a, b) => a.line - b.line || a.column - b.column);
}

function manifestError(file: string, problems: ManifestProblem[]): BerthError {
  const lines = problems.map((p) => `${p.file}:${String(p.line)}:${String(p.column)}: ${p.path ? `${p.path}: ` : ''}${p.message}`);
  return new BerthError('E_INVALID_INPUT', `${basename(file)} has ${String(problems.length)} problem${problems.length === 1 ? '' : 's'}:\n${lines.join('\n')}`, {
    hint: 'Fix each line above; `berth schema` prints the JSON Schema your editor can check the file with.',
    details: { problems },
  });
}
