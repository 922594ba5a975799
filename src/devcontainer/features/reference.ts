import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';

/**
 * A feature as devcontainer.json names it (its key in `features`): a local folder (`./name`) or an
 * OCI artifact (`registry/namespace/name[:tag|@sha256:digest]`), parsed as the reference does
 * (getFeatureIdType, processFeatureIdentifier in src/spec-configuration/containerFeaturesConfiguration.ts
 * and getRef in containerCollectionsOCI.ts, devcontainers/cli@v0.88.0).
 */
export type FeatureRef = LocalFeatureRef | OciFeatureRef;

export interface LocalFeatureRef {
  kind: 'local';
  /** As written in devcontainer.json. */
  userId: string;
  /** The folder's name: the feature's id. */
  id: string;
  /** Absolute folder on the host. */
  path: string;
}

export interface OciFeatureRef {
  kind: 'oci';
  userId: string;
  id: string;
  /** `ghcr.io`, `127.0.0.1:5000`. */
  registry: string;
  /** The repository in the registry: `devcontainers/features/node`. */
  repository: string;
  /** registry/repository: what installsAfter and overrideFeatureInstallOrder match on. */
  resource: string;
  /** The tag, or the digest when pinned by one: what the manifest is fetched by. */
  reference: string;
  tag: string | null;
  digest: string | null;
}

const REPOSITORY = /^[a-z0-9]+([._-][a-z0-9]+)*(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/;
const TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;

export function parseFeatureRef(userId: string, configFile: string, localWorkspaceFolder: string): FeatureRef | { error: string } {
  if (userId.startsWith('./') || userId.startsWith('../')) {
    const path = resolve(dirname(configFile), userId);
    // The reference keeps local features inside the workspace's .devcontainer folder.
    const parent = join(localWorkspaceFolder, '.devcontainer');
    const rel = relative(parent, path);
    if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) {
      return { error: `a local feature is a folder inside ${parent}${sep} (as the reference requires); ${userId} is ${path}` };
    }
    return { kind: 'local', userId, id: path.split(sep).pop() ?? userId, path };
  }
  if (userId.startsWith('/')) return { error: 'a local feature is named by a path relative to devcontainer.json ("./my-feature"), not an absolute one' };
  if (userId.startsWith('https://') || userId.startsWith('http://')) {
    return { error: 'features from a tarball URL are not installed by Berth; publish the feature to an OCI registry or copy it beside devcontainer.json as "./name"' };
  }
  if (!userId.includes('/')) {
    return { error: `"${userId}" is a legacy short feature id, which the reference no longer supports either; use its OCI id (e.g. "ghcr.io/devcontainers/features/${userId}:1", see https://containers.dev/features) or "./${userId}" for a local folder` };
  }
  return parseOciRef(userId);
}

export function parseOciRef(userId: string): OciFeatureRef | { error: string } {
  const input = userId.toLowerCase();
  let resource: string;
  let tag: string | null = null;
  let digest: string | null = null;
  const at = input.lastIndexOf('@');
  const colon = input.lastIndexOf(':');
  if (at !== -1) {
    resource = input.slice(0, at);
    digest = input.slice(at + 1);
    if (!/^sha256:[a-f0-9]{64}$/.test(digest)) return { error: `"${userId}": a pinned feature is name@sha256:<64 hex digits>` };
  } else if (colon !== -1 && colon > input.lastIndexOf('/')) {
    resource = input.slice(0, colon);
    tag = input.slice(colon + 1);
    if (!TAG.test(tag)) return { error: `"${userId}": "${tag}" is not a valid tag` };
  } else {
    resource = input;
    tag = 'latest';
  }
  const parts = resource.split('/');
  const registry = parts[0] ?? '';
  const repository = parts.slice(1).join('/');
  if (parts.length < 3 || !REPOSITORY.test(repository)) {
    return { error: `"${userId}" is not an OCI feature id: registry/namespace/name[:tag], e.g. ghcr.io/devcontainers/features/node:1` };
  }
  // As the reference: a registry is a host name with a dot, or localhost (not a bare word).
  if (!registry.includes('.') && !registry.startsWith('localhost')) {
    return { error: `"${userId}": "${registry}" is not a registry host (it has no dot and is not localhost)` };
  }
  return { kind: 'oci', userId, id: parts[parts.length - 1] ?? '', registry, repository, resource, reference: digest ?? tag ?? 'latest', tag, digest };
}

/**
 * The short ids of microsoft/vscode-dev-containers' features, mapped as the reference maps them
 * (getBackwardCompatibleFeatureId, src/spec-configuration/containerFeaturesConfiguration.ts@v0.88.0):
 * a migrated one to `ghcr.io/devcontainers/features/<id>:1`, a renamed one to its new name.
 * Any other id without a "/" stays an error there and here.
 */
const MIGRATED_FEATURES = new Set(['aws-cli', 'azure-cli', 'desktop-lite', 'docker-in-docker', 'docker-from-docker', 'dotnet', 'git', 'git-lfs', 'github-cli', 'java', 'kubectl-helm-minikube', 'node', 'powershell', 'python', 'ruby', 'rust', 'sshd', 'terraform']);
const RENAMED_FEATURES: Record<string, string> = { golang: 'go', common: 'common-utils' };
/** Short ids that became an option of another feature (deprecatedFeaturesIntoOptions, same file). */
const FEATURES_INTO_OPTIONS: Record<string, { mapTo: string; withOptions: Record<string, boolean> }> = {
  gradle: { mapTo: 'java', withOptions: { installGradle: true } },
  maven: { mapTo: 'java', withOptions: { installMaven: true } },
  jupyterlab: { mapTo: 'python', withOptions: { installJupyterlab: true } },
};
const NEW_FEATURE_PATH = 'ghcr.io/devcontainers/features';

/** One entry of `features` after the legacy mapping: its id now, what was written, and warnings when it changed. */
export interface MappedFeature {
  userId: string;
  value: unknown;
  /** The key as written in devcontainer.json (where problems are located). */
  writtenAs: string;
  /** What changed, each at the key it is about. */
  warnings: { at: string; message: string }[];
}

/**
 * `features` as the reference reads it (updateDeprecatedFeaturesIntoOptions, then
 * getBackwardCompatibleFeatureId for each id): `gradle`/`maven`/`jupyterlab` become options of
 * java/python (merged into that feature when it is listed, else added as `:1`), `node` becomes
 * `ghcr.io/devcontainers/features/node:1`, `golang` `.../go:1`. Each change warns with the new id.
 */
export function mapLegacyFeatures(features: Readonly<Record<string, unknown>>): MappedFeature[] {
  const out: MappedFeature[] = Object.entries(features).map(([userId, value]) => ({ userId, value, writtenAs: userId, warnings: [] as MappedFeature['warnings'] }));
  for (const [legacy, { mapTo, withOptions }] of Object.entries(FEATURES_INTO_OPTIONS)) {
    const index = out.findIndex((f) => f.userId === legacy);
    const old = out[index];
    if (old === undefined) continue;
    const qualified = `${NEW_FEATURE_PATH}/${mapTo}`;
    const into = out.find((f) => f.userId === mapTo || f.userId === qualified || f.userId.startsWith(`${qualified}:`));
    const options = Object.keys(withOptions).map((k) => `${k}: true`).join(', ');
    const warning = `"${legacy}" is a deprecated feature, now the option ${options} of ${qualified}: Berth installs that, as the reference does; write it instead`;
    if (into) {
      const given = typeof into.value === 'object' && into.value !== null && !Array.isArray(into.value) ? into.value : typeof into.value === 'string' ? { version: into.value } : {};
      into.value = { ...given, ...withOptions };
      into.warnings.push({ at: legacy, message: warning });
      out.splice(index, 1);
    } else {
      out[index] = { userId: `${qualified}:1`, value: withOptions, writtenAs: legacy, warnings: [{ at: legacy, message: warning }] };
    }
  }
  for (const feature of out) {
    const id = feature.userId;
    const renamed = MIGRATED_FEATURES.has(id) ? id : RENAMED_FEATURES[id];
    if (renamed === undefined) continue;
    feature.userId = `${NEW_FEATURE_PATH}/${renamed}:1`;
    feature.warnings.push({ at: feature.writtenAs, message: `"${id}" is a legacy short feature id; Berth installs ${feature.userId} as the reference does: write that instead` });
  }
  return out;
}

/** Where installsAfter / overrideFeatureInstallOrder / dependsOn entries find a feature: its source without version. */
export function sourceKey(ref: FeatureRef): string {
  return ref.kind === 'local' ? `local:${ref.path}` : `oci:${ref.resource}`;
}
