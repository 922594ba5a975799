import { dirname, posix, resolve } from 'node:path';
import type { JsoncDocument } from './jsonc.js';
import { HOOKS, parseHook, type Hook, type HookName } from './lifecycle.js';
import { parseMountObject, parseMountString, type DevcontainerMount, type MountResult } from './mount-string.js';
import type { DevcontainerProblem } from './problems.js';
import { emptyRunOptions, parseRunArgs, type RunOptions } from './run-args.js';
import { substituteValue, type SubstitutionContext } from './substitute.js';

/** Where the container comes from: one of the three the spec knows. Paths are absolute on the host. */
export type DevcontainerSource =
  | { kind: 'image'; image: string }
  | { kind: 'build'; dockerfile: string; context: string; args: Record<string, string>; target: string | null }
  | { kind: 'compose'; files: string[]; service: string; runServices: string[] | null; shutdownAction: 'stopCompose' | 'none' };

export interface DevcontainerPort {
  /** The port in the container (or in `service`). */
  port: number;
  /** `"db:5432"` in forwardPorts: another compose service's port; null: the workspace's own. */
  service: string | null;
  /** From portsAttributes (the port, `host:port`, or a range that holds it). */
  label: string | null;
  protocol: 'http' | 'https' | null;
  /** From portsAttributes: what an editor does when the port starts listening (`notify`, `openBrowser`, `silent`...), kept for tools. */
  onAutoForward: string | null;
  from: 'forwardPorts' | 'appPort';
}

/** The configuration as Berth will act on it: legacy keys folded in, defaults filled, variables substituted. */
export interface DevcontainerConfig {
  name: string | null;
  source: DevcontainerSource;
  /** The folder in the container where exec, shell and hooks start. */
  workspaceFolder: string;
  /** The workspace's own mount; null when `workspaceMount` is "" (compose files mount it themselves). */
  workspaceMount: DevcontainerMount | null;
  mounts: DevcontainerMount[];
  containerEnv: Record<string, string>;
  /** null unsets the variable for the tools' processes. May hold `${containerEnv:X}`, resolved after start. */
  remoteEnv: Record<string, string | null>;
  containerUser: string | null;
  remoteUser: string | null;
  /** runArgs' supported flags merged with the spec's own keys (capAdd, securityOpt, privileged, init). */
  run: RunOptions;
  overrideCommand: boolean;
  hostRequirements: { cpus: number | null; memoryBytes: number | null; storageBytes: number | null; gpu: boolean | 'optional' | null };
  ports: DevcontainerPort[];
  hooks: Partial<Record<HookName, Hook>>;
  features: Record<string, unknown>;
  overrideFeatureInstallOrder: string[];
  /** Tools' own settings (legacy top-level extensions/settings/devPort folded under vscode), printed, not used. */
  customizations: Record<string, unknown>;
}

/** Keys Berth reads; anything else known to the spec is listed with the reason it is ignored. */
const READ = new Set([
  '$schema', 'name', 'image', 'build', 'dockerFile', 'context', 'dockerComposeFile', 'service', 'runServices', 'workspaceFolder', 'workspaceMount', 'mounts',
  'containerEnv', 'remoteEnv', 'containerUser', 'remoteUser', 'runArgs', 'overrideCommand', 'hostRequirements', 'forwardPorts', 'appPort', 'portsAttributes',
  'features', 'overrideFeatureInstallOrder', 'capAdd', 'securityOpt', 'privileged', 'init', 'customizations', 'extensions', 'settings', 'devPort',
  'shutdownAction', ...HOOKS,
]);

/** Spec keys Berth does not act on, and why ignoring them does not change what runs in the container. */
const IGNORED: Record<string, string> = {
  updateRemoteUserUID: 'Berth does not rewrite the remote user\'s UID/GID to match yours',
  userEnvProbe: 'Berth does not probe a login shell for variables; hooks and exec get containerEnv and remoteEnv',
  waitFor: 'Berth runs every create hook before up returns',
  otherPortsAttributes: 'only listed ports become preview ports',
};

export interface NormalizeInput {
  document: JsoncDocument;
  /** The folder the configuration belongs to (mounted as the workspace). */
  localWorkspaceFolder: string;
  env: Readonly<Record<string, string | undefined>>;
  devcontainerId: string;
}

export interface NormalizeResult {
  config: DevcontainerConfig | null;
  problems: DevcontainerProblem[];
}

type Path = (string | number)[];

export function normalizeConfig(input: NormalizeInput): NormalizeResult {
  const { document, localWorkspaceFolder } = input;
  const problems: DevcontainerProblem[] = [];
  const report = (severity: DevcontainerProblem['severity'], path: Path, message: string): void => {
    problems.push({ severity, file: document.file, ...document.locate(path), path: formatPath(path), message });
  };
  const error = (path: Path, message: string): void => report('error', path, message);
  const warn = (path: Path, message: string): void => report('warning', path, message);
  const raw = document.value as Record<string, unknown>;

  for (const key of Object.keys(raw)) {
    if (READ.has(key)) continue;
    const why = IGNORED[key];
    warn([key], why ? `ignored: ${why}` : 'not a devcontainer.json key Berth knows; ignored (a typo?)');
  }

  // The container folder first: ${containerWorkspaceFolder} resolves to it everywhere else.
  const isCompose = raw['dockerComposeFile'] !== undefined && raw['dockerFile'] === undefined && !hasBuildDockerfile(raw) && raw['image'] === undefined;
  const defaultFolder = isCompose ? '/' : posix.join('/workspaces', posix.basename(localWorkspaceFolder));
  const context: SubstitutionContext = { env: input.env, localWorkspaceFolder, containerWorkspaceFolder: defaultFolder, devcontainerId: input.devcontainerId };
  if (typeof raw['workspaceFolder'] === 'string' && raw['workspaceFolder'] !== '') {
    context.containerWorkspaceFolder = substituteValue(raw['workspaceFolder'], { ...context }) as string;
  }
  const value = substituteValue(raw, context) as Record<string, unknown>;

  const str = (key: string, path: Path = [key], from: Record<string, unknown> = value): string | null => {
    const v = from[key];
    if (v === undefined || v === null) return null;
    if (typeof v !== 'string') {
      error(path, `must be a string, got ${typeOf(v)}`);
      return null;
    }
    return v;
  };
  const bool = (key: string): boolean | null => {
    const v = value[key];
    if (v === undefined || v === null) return null;
    if (typeof v !== 'boolean') {
      error([key], `must be true or false, got ${typeOf(v)}`);
      return null;
    }
    return v;
  };
  const strings = (key: string, from: Record<string, unknown> = value, path: Path = [key]): string[] => {
    const v = from[key];
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) {
      error(path, `must be an array of strings, got ${typeOf(v)}`);
      return [];
    }
    const out: string[] = [];
    v.forEach((item, i) => {
      if (typeof item === 'string') out.push(item);
      else error([...path, i], `must be a string, got ${typeOf(item)}`);
    });
    return out;
  };
  const record = (key: string, allowNull: boolean, from: Record<string, unknown> = value, path: Path = [key]): Record<string, string | null> => {
    const v = from[key];
    const out: Record<string, string | null> = {};
    if (v === undefined || v === null) return out;
    if (!isObject(v)) {
      error(path, `must be an object of NAME: value, got ${typeOf(v)}`);
      return out;
    }
    for (const [name, item] of Object.entries(v)) {
      if (!/^[^=\0]+$/.test(name)) error([...path, name], 'a variable name cannot be empty or hold "=" or a NUL');
      else if (typeof item === 'string' && !item.includes('\0')) out[name] = item;
      else if (item === null && allowNull) out[name] = null;
      else if (typeof item === 'number' || typeof item === 'boolean') out[name] = String(item);
      else error([...path, name], `must be a string${allowNull ? ' or null' : ''}, got ${typeOf(item)}`);
    }
    return out;
  };

  const source = readSource();
  const workspaceFolder = context.containerWorkspaceFolder;
  if (!workspaceFolder.startsWith('/')) error(['workspaceFolder'], `must be an absolute path in the container, got ${JSON.stringify(workspaceFolder)}`);

  let workspaceMount: DevcontainerMount | null = isCompose ? null : { type: 'bind', source: localWorkspaceFolder, target: workspaceFolder, readOnly: false };
  const wm = str('workspaceMount');
  if (wm !== null) workspaceMount = wm.trim() === '' ? null : mountOf(parseMountString(wm), ['workspaceMount']);
  if (wm !== null && wm.trim() !== '' && typeof value['workspaceFolder'] !== 'string') {
    warn(['workspaceMount'], `workspaceMount is set without workspaceFolder; exec and hooks start in ${workspaceFolder}`);
  }

  const mounts: DevcontainerMount[] = [];
  const rawMounts = value['mounts'];
  if (rawMounts !== undefined && rawMounts !== null) {
    if (!Array.isArray(rawMounts)) error(['mounts'], `must be an array, got ${typeOf(rawMounts)}`);
    else
      rawMounts.forEach((item, i) => {
        const parsed = typeof item === 'string' ? parseMountString(item) : isObject(item) ? parseMountObject(item) : ({ error: `a mount is a string or an object, got ${typeOf(item)}` } as MountResult);
        const mount = mountOf(parsed, ['mounts', i]);
        if (mount) mounts.push(mount);
      });
  }

  const containerEnv = record('containerEnv', false) as Record<string, string>;
  const remoteEnv = record('remoteEnv', true);

  let run = emptyRunOptions();
  const runArgs = strings('runArgs');
  const parsedRun = parseRunArgs(runArgs);
  if ('error' in parsedRun) error(['runArgs', parsedRun.index], parsedRun.error);
  else run = parsedRun.options;
  run.capAdd.push(...strings('capAdd'));
  run.securityOpt.push(...strings('securityOpt'));
  if (bool('privileged') === true) run.privileged = true;
  if (bool('init') === true) run.init = true;

  const overrideCommand = bool('overrideCommand') ?? !isCompose;

  const hooks: Partial<Record<HookName, Hook>> = {};
  for (const name of HOOKS) {
    const parsed = parseHook(value[name]);
    if ('error' in parsed) error([name, ...parsed.at], parsed.error);
    else if (parsed.hook !== null) hooks[name] = parsed.hook;
  }

  warnUnresolved(value, []);
  const features = readFeatures();
  const customizations = readCustomizations();

  const result: DevcontainerConfig = {
    name: str('name'),
    source: source ?? { kind: 'image', image: '' },
    workspaceFolder,
    workspaceMount,
    mounts,
    containerEnv,
    remoteEnv,
    containerUser: str('containerUser'),
    remoteUser: str('remoteUser'),
    run,
    overrideCommand,
    hostRequirements: readHostRequirements(),
    ports: readPorts(),
    hooks,
    features,
    overrideFeatureInstallOrder: strings('overrideFeatureInstallOrder'),
    customizations,
  };
  return { config: source === null ? null : result, problems };

  function readSource(): DevcontainerSource | null {
    const configFolder = dirname(document.file);
    const build = value['build'];
    if (build !== undefined && build !== null && !isObject(build)) {
      error(['build'], `must be an object ({ "dockerfile": ..., "context": ... }), got ${typeOf(build)}`);
      return null;
    }
    const legacyDockerfile = str('dockerFile');
    const buildDockerfile = build ? str('dockerfile', ['build', 'dockerfile'], build) : null;
    const dockerfile = legacyDockerfile ?? buildDockerfile;
    if (dockerfile !== null) {
      if (value['image'] !== undefined) warn(['image'], 'ignored: build.dockerfile is set, and the image is built from it (as the reference does)');
      if (value['dockerComposeFile'] !== undefined) warn(['dockerComposeFile'], 'ignored: build.dockerfile is set');
      const contextValue = legacyDockerfile !== null ? str('context') : build ? str('context', ['build', 'context'], build) : null;
      if (legacyDockerfile === null && value['context'] !== undefined) warn(['context'], 'ignored: the top-level context goes with the legacy dockerFile; build.context is the one used');
      const dockerfilePath = resolve(configFolder, dockerfile);
      const args = build ? (record('args', false, build, ['build', 'args']) as Record<string, string>) : {};
      const target = build ? str('target', ['build', 'target'], build) : null;
      if (build) {
        if (strings('options', build, ['build', 'options']).length > 0) error(['build', 'options'], 'Berth does not pass extra docker build flags; move what they do into the Dockerfile or build.args');
        if (build['cacheFrom'] !== undefined) warn(['build', 'cacheFrom'], 'ignored: Berth caches builds by the content of the Dockerfile and its context');
        for (const key of Object.keys(build)) {
          if (!['dockerfile', 'context', 'args', 'target', 'options', 'cacheFrom'].includes(key)) warn(['build', key], 'not a build key Berth knows; ignored');
        }
      }
      return { kind: 'build', dockerfile: dockerfilePath, context: contextValue === null ? dirname(dockerfilePath) : resolve(configFolder, contextValue), args, target };
    }
    if (build && Object.keys(build).length > 0) {
      error(['build'], 'build has no "dockerfile": name the Dockerfile, relative to this file');
      return null;
    }
    const image = str('image');
    if (image !== null) {
      if (image.trim() === '') {
        error(['image'], 'the image is empty');
        return null;
      }
      if (value['dockerComposeFile'] !== undefined) warn(['dockerComposeFile'], 'ignored: image is set');
      return { kind: 'image', image };
    }
    const compose = value['dockerComposeFile'];
    if (compose !== undefined && compose !== null) {
      const files = typeof compose === 'string' ? [compose] : strings('dockerComposeFile');
      if (typeof compose !== 'string' && !Array.isArray(compose)) return null;
      const service = str('service');
      if (service === null || service === '') {
        error(['dockerComposeFile'], 'a compose configuration needs "service": the service Berth makes the workspace');
        return null;
      }
      const runServices = value['runServices'] === undefined ? null : strings('runServices');
      const shutdown = str('shutdownAction');
      if (shutdown !== null && shutdown !== 'stopCompose' && shutdown !== 'none') warn(['shutdownAction'], `${JSON.stringify(shutdown)} is not a compose shutdownAction; stopCompose is used`);
      return { kind: 'compose', files: files.map((f) => resolve(configFolder, f)), service, runServices, shutdownAction: shutdown === 'none' ? 'none' : 'stopCompose' };
    }
    error([], 'the configuration has none of "image", "build.dockerfile" or "dockerComposeFile": Berth cannot tell what to run');
    return null;
  }

  /** `${templateOption:x}` and the like: no tool fills them at up, so the value is used as written. */
  function warnUnresolved(node: unknown, path: Path): void {
    if (typeof node === 'string') {
      for (const match of node.matchAll(/\$\{(\w+):[^}]*\}/g)) {
        if (match[1] === 'containerEnv' && path[0] === 'remoteEnv') continue;
        warn(path, `${match[0]} is not a variable Berth resolves; the value is used as written`);
      }
    } else if (Array.isArray(node)) node.forEach((item, i) => warnUnresolved(item, [...path, i]));
    else if (isObject(node)) {
      for (const [key, item] of Object.entries(node)) if (!(path.length === 0 && key === 'customizations')) warnUnresolved(item, [...path, key]);
    }
  }

  function mountOf(parsed: MountResult, path: Path): DevcontainerMount | null {
    if ('error' in parsed) {
      error(path, parsed.error);
      return null;
    }
    for (const option of parsed.ignored) warn(path, `mount option "${option}" ignored`);
    return parsed.mount;
  }

  function readHostRequirements(): DevcontainerConfig['hostRequirements'] {
    const out: DevcontainerConfig['hostRequirements'] = { cpus: null, memoryBytes: null, storageBytes: null, gpu: null };
    const v = value['hostRequirements'];
    if (v === undefined || v === null) return out;
    if (!isObject(v)) {
      error(['hostRequirements'], `must be an object, got ${typeOf(v)}`);
      return out;
    }
    if (v['cpus'] !== undefined) {
      if (typeof v['cpus'] === 'number' && v['cpus'] > 0) out.cpus = v['cpus'];
      else error(['hostRequirements', 'cpus'], 'must be a positive number');
    }
    for (const [key, field] of [['memory', 'memoryBytes'], ['storage', 'storageBytes']] as const) {
      if (v[key] === undefined) continue;
      const bytes = typeof v[key] === 'string' ? parseBytes(v[key]) : null;
      if (bytes === null) error(['hostRequirements', key], `must be a size such as "4gb" or "512mb", got ${JSON.stringify(v[key])}`);
      else out[field] = bytes;
    }
    const gpu = v['gpu'];
    if (gpu === true || (isObject(gpu))) {
      out.gpu = true;
      warn(['hostRequirements', 'gpu'], 'Berth gives workspaces no GPU; tools that need one will not find it');
    } else if (gpu === 'optional' || gpu === false) out.gpu = gpu;
    return out;
  }

  function readPorts(): DevcontainerPort[] {
    const attributes = isObject(value['portsAttributes']) ? value['portsAttributes'] : {};
    if (value['portsAttributes'] !== undefined && !isObject(value['portsAttributes'])) warn(['portsAttributes'], 'must be an object; ignored');
    const ports: DevcontainerPort[] = [];
    const seen = new Set<string>();
    const add = (port: number, service: string | null, from: DevcontainerPort['from']): void => {
      const key = `${service ?? ''}:${String(port)}`;
      if (seen.has(key)) return;
      seen.add(key);
      const attribute = attributesFor(attributes, port, service);
      const protocol = attribute['protocol'] === 'http' || attribute['protocol'] === 'https' ? attribute['protocol'] : null;
      const onAutoForward = typeof attribute['onAutoForward'] === 'string' ? attribute['onAutoForward'] : null;
      ports.push({ port, service, label: typeof attribute['label'] === 'string' ? attribute['label'] : null, protocol, onAutoForward, from });
    };
    const forward = value['forwardPorts'];
    if (forward !== undefined && forward !== null) {
      if (!Array.isArray(forward)) error(['forwardPorts'], `must be an array of ports, got ${typeOf(forward)}`);
      else
        forward.forEach((item, i) => {
          const parsed = parsePortRef(item);
          if (parsed === null) error(['forwardPorts', i], `must be a port number (1-65535) or "host:port", got ${JSON.stringify(item)}`);
          else add(parsed.port, parsed.service, 'forwardPorts');
        });
    }
    const app = value['appPort'];
    if (app !== undefined && app !== null) {
      const items = Array.isArray(app) ? app : [app];
      items.forEach((item, i) => {
        const path: Path = Array.isArray(app) ? ['appPort', i] : ['appPort'];
        const port = typeof item === 'number' ? item : typeof item === 'string' ? appPortTarget(item) : null;
        if (port === null || !validPort(port)) error(path, `must be a port number or "hostPort:containerPort", got ${JSON.stringify(item)}`);
        else {
          if (typeof item === 'string' && item.includes(':')) warn(path, `the host side of ${JSON.stringify(item)} is not kept: Berth publishes ${String(port)} on a free loopback port`);
          add(port, null, 'appPort');
        }
      });
    }
    return ports;
  }

  function readFeatures(): Record<string, unknown> {
    const v = value['features'];
    if (v === undefined || v === null) return {};
    if (!isObject(v)) {
      error(['features'], `must be an object of feature id: options, got ${typeOf(v)}`);
      return {};
    }
    return { ...v };
  }

  function readCustomizations(): Record<string, unknown> {
    // Legacy top-level keys move under customizations.vscode, as updateFromOldProperties
    // (src/spec-configuration/configuration.ts@v0.88.0) does.
    const base = isObject(value['customizations']) ? { ...value['customizations'] } : {};
    const legacy = ['extensions', 'settings', 'devPort'].filter((key) => value[key] !== undefined);
    if (legacy.length === 0) return base;
    const vscode: Record<string, unknown> = isObject(base['vscode']) ? { ...base['vscode'] } : {};
    const list = (v: unknown): unknown[] => (Array.isArray(v) ? (v as unknown[]) : []);
    if (Array.isArray(value['extensions'])) vscode['extensions'] = [...list(vscode['extensions']), ...list(value['extensions'])];
    if (isObject(value['settings'])) vscode['settings'] = { ...value['settings'], ...(isObject(vscode['settings']) ? vscode['settings'] : {}) };
    if (value['devPort'] !== undefined && vscode['devPort'] === undefined) vscode['devPort'] = value['devPort'];
    base['vscode'] = vscode;
    return base;
  }
}

function hasBuildDockerfile(raw: Record<string, unknown>): boolean {
  const build = raw['build'];
  return isObject(build) && build['dockerfile'] !== undefined;
}

function parsePortRef(item: unknown): { port: number; service: string | null } | null {
  if (typeof item === 'number') return validPort(item) ? { port: item, service: null } : null;
  if (typeof item !== 'string') return null;
  const match = /^(?:([^:]+):)?(\d+)$/.exec(item.trim());
  if (!match) return null;
  const port = Number(match[2]);
  if (!validPort(port)) return null;
  const service = match[1] ?? null;
  return { port, service: service === 'localhost' || service === '127.0.0.1' ? null : service };
}

function appPortTarget(item: string): number | null {
  const match = /^(?:(?:[\d.]+:)?\d+:)?(\d+)(?:\/tcp)?$/.exec(item.trim());
  return match ? Number(match[1]) : null;
}

function validPort(port: number): boolean {
  return Number.isInteger(port) && port >= 1 && port <= 65535;
}

/** portsAttributes: the port itself, `host:port`, then a range `a-b` that holds it. */
export function attributesFor(attributes: Record<string, unknown>, port: number, service: string | null): Record<string, unknown> {
  const pick = (key: string): Record<string, unknown> | null => {
    const a = attributes[key];
    return isObject(a) ? a : null;
  };
  const exact = pick(service === null ? String(port) : `${service}:${String(port)}`) ?? (service === null ? pick(`localhost:${String(port)}`) : null);
  if (exact) return exact;
  for (const [key, attribute] of Object.entries(attributes)) {
    const range = /^(\d+)-(\d+)$/.exec(key);
    if (range && isObject(attribute) && Number(range[1]) <= port && port <= Number(range[2])) return attribute;
  }
  return {};
}

/** `4gb`, `512mb`, `32gb`, binary units, as the reference reads them (imageMetadata.ts parseBytes@v0.88.0). */
export function parseBytes(text: string): number | null {
  const match = /^(\d+)([tgmk]b)?$/.exec(text.trim().toLowerCase());
  if (!match) return null;
  const units: Record<string, number> = { t: 2 ** 40, g: 2 ** 30, m: 2 ** 20, k: 2 ** 10 };
  const bytes = Number(match[1]) * (match[2] ? (units[match[2][0] ?? ''] ?? 1) : 1);
  return Number.isSafeInteger(bytes) ? bytes : null;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  const shown = JSON.stringify(value);
  return `${typeof value === 'string' ? 'a string' : `a ${typeof value}`} (${shown.length > 40 ? `${shown.slice(0, 37)}...` : shown})`;
}

function formatPath(path: Path): string {
  return path.map((part, i) => (typeof part === 'number' ? `[${String(part)}]` : i === 0 ? part : `.${part}`)).join('');
}
