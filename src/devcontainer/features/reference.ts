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

/** Where installsAfter / overrideFeatureInstallOrder / dependsOn entries find a feature: its source without version. */
export function sourceKey(ref: FeatureRef): string {
  return ref.kind === 'local' ? `local:${ref.path}` : `oci:${ref.resource}`;
}
