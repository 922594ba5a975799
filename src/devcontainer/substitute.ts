import { createHash } from 'node:crypto';
import { posix } from 'node:path';

/**
 * `${...}` variables in devcontainer.json, as the reference resolves them
 * (devcontainers/cli src/spec-common/variableSubstitution.ts@v0.88.0): `${localEnv:X}` / `${env:X}`
 * with an optional `:default` (a missing variable without a default is empty, as a shell does),
 * `${localWorkspaceFolder}`, `${localWorkspaceFolderBasename}`, `${containerWorkspaceFolder}`,
 * `${containerWorkspaceFolderBasename}`, `${devcontainerId}`. Anything else is left as written;
 * `${containerEnv:X}` is resolved later, against the running container (remoteEnv only).
 * Only values are substituted, never keys, as in the reference.
 */
export interface SubstitutionContext {
  env: Readonly<Record<string, string | undefined>>;
  localWorkspaceFolder: string;
  containerWorkspaceFolder: string;
  devcontainerId: string;
}

const VARIABLE = /\$\{(.*?)\}/g;

export function substituteValue(value: unknown, context: SubstitutionContext): unknown {
  return mapStrings(value, (text) => substituteString(text, context));
}

export function substituteString(text: string, context: SubstitutionContext): string {
  return text.replace(VARIABLE, (match, inner: string) => {
    const [name = '', ...args] = inner.split(':');
    switch (name) {
      case 'env':
      case 'localEnv':
        return lookup(context.env, args);
      case 'localWorkspaceFolder':
        return context.localWorkspaceFolder;
      case 'localWorkspaceFolderBasename':
        return posix.basename(context.localWorkspaceFolder);
      case 'containerWorkspaceFolder':
        return context.containerWorkspaceFolder;
      case 'containerWorkspaceFolderBasename':
        return posix.basename(context.containerWorkspaceFolder);
      case 'devcontainerId':
        return context.devcontainerId;
      default:
        return match;
    }
  });
}

/** `${containerEnv:X[:default]}`, once the container's environment is known. */
export function substituteContainerEnv(text: string, containerEnv: Readonly<Record<string, string | undefined>>): string {
  return text.replace(VARIABLE, (match, inner: string) => {
    const [name, ...args] = inner.split(':');
    return name === 'containerEnv' ? lookup(containerEnv, args) : match;
  });
}

/** Variables that stay unresolved after reading: the reference leaves them too, Berth says so. */
export function unresolvedVariables(text: string): string[] {
  return [...text.matchAll(VARIABLE)].map((m) => m[0]);
}

function lookup(env: Readonly<Record<string, string | undefined>>, args: readonly string[]): string {
  // `${localEnv}` without a name: the reference throws; an empty value is the same refusal, shown later.
  const [name, fallback] = args;
  if (name === undefined || name === '') return '';
  const value = env[name];
  if (typeof value === 'string') return value;
  return fallback ?? '';
}

function mapStrings(value: unknown, map: (text: string) => string): unknown {
  if (typeof value === 'string') return map(value);
  if (Array.isArray(value)) return value.map((item) => mapStrings(item, map));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
    for (const [key, item] of Object.entries(value)) {
      Object.defineProperty(out, key, { value: mapStrings(item, map), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  return value;
}

/**
 * `${devcontainerId}`: the reference's hash of the container's id labels
 * (devcontainerIdForLabels, variableSubstitution.ts@v0.88.0): sha256 of the labels as sorted JSON,
 * in base 32, 52 digits. Berth feeds it the same two labels the reference uses for a local folder
 * (`devcontainer.local_folder`, `devcontainer.config_file`), so both tools name a volume alike.
 */
export function devcontainerId(localFolder: string, configFile: string): string {
  const labels: Record<string, string> = { 'devcontainer.config_file': configFile, 'devcontainer.local_folder': localFolder };
  const hash = createHash('sha256').update(JSON.stringify(labels, Object.keys(labels).sort()), 'utf8').digest('hex');
  return BigInt(`0x${hash}`).toString(32).padStart(52, '0');
}
