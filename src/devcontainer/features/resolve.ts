import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { BerthError } from '../../errors.js';
import { parseJsonc, type JsoncDocument } from '../jsonc.js';
import { devcontainerError, type DevcontainerProblem } from '../problems.js';
import type { DevcontainerRead } from '../read.js';
import { readContribution, type FeatureContribution } from './contributions.js';
import { isObject, parseFeatureMetadata, type FeatureMetadata } from './metadata.js';
import { parseMountObject, parseMountString, type DevcontainerMount, type MountResult } from '../mount-string.js';
import { substituteValue } from '../substitute.js';
import { readLockfile, writeLockfile, type LockEntry } from './lockfile.js';
import { cachedOciFeature, pullOciFeature } from './oci.js';
import { resolveOptions } from './options.js';
import { installOrder, type OrderNode } from './order.js';
import { mapLegacyFeatures, parseFeatureRef, sourceKey, type FeatureRef } from './reference.js';

/** One feature to install: where its files are, what it declares, the option values it gets. */
export interface ResolvedFeature {
  ref: FeatureRef;
  /** As named in devcontainer.json (or in a dependsOn). */
  userId: string;
  /** Its folder on this machine (the local folder, or the unpacked OCI layer in the cache). */
  dir: string;
  metadata: FeatureMetadata;
  values: Record<string, string | boolean>;
  /** What it adds to the container: capabilities, init, its entrypoint, its lifecycle hooks. */
  contribution: FeatureContribution;
  /** Of its files (and, for OCI, its manifest digest): part of the image's tag. */
  contentHash: string;
  /** `<id>_<index in the install order>`: its folder in the build, as the reference names it. */
  consecutiveId: string;
}

export interface FeaturesResolution {
  /** In install order. */
  features: ResolvedFeature[];
  /** The devcontainer.json's own entry of the devcontainer.metadata label (pickConfigProperties). */
  configMetadata: Record<string, unknown>;
  /** The features' own `mounts`, in install order, variables substituted as the config's are. */
  mounts: DevcontainerMount[];
  warnings: string[];
  notes: string[];
  /** Of every feature's content and options, and the order: an edit to any of them is drift. */
  hash: string;
}

export interface ResolveOptions {
  /** Where OCI features are cached (Berth's home). */
  cacheDir: string;
  /** Write devcontainer-lock.json beside the config, as the reference does (default true). */
  writeLockfile?: boolean | undefined;
  /**
   * Never the network: OCI features from the cache only (the lockfile's digest, else the tag's
   * last). One that is not cached throws FeaturesUnknownOffline. For listings (status, ls).
   */
  offline?: boolean | undefined;
  /** For `${localEnv:X}` in a feature's mounts (default process.env, as readDevcontainer's). */
  env?: Readonly<Record<string, string | undefined>> | undefined;
}

/** Offline, an OCI feature that is not in the cache: what it resolves to cannot be told without the registry. */
export class FeaturesUnknownOffline extends Error {
  readonly feature: string;
  constructor(feature: string) {
    super(`${feature} is not in the feature cache; only the registry can tell what it is now`);
    this.feature = feature;
  }
}

/** dependsOn chains end well before this; a registry serving an endless chain does not. */
const MAX_FEATURES = 64;

/** A feature folder bigger than this is not a feature (the published ones are KBs). */
const MAX_FEATURE_BYTES = 64 * 1024 * 1024;

/** pickConfigProperties (src/spec-node/imageMetadata.ts@v0.88.0): the config's entry in the label. */
const CONFIG_METADATA_KEYS = [
  'onCreateCommand', 'updateContentCommand', 'postCreateCommand', 'postStartCommand', 'postAttachCommand', 'waitFor', 'customizations', 'mounts', 'containerEnv',
  'containerUser', 'init', 'privileged', 'capAdd', 'securityOpt', 'remoteUser', 'userEnvProbe', 'remoteEnv', 'overrideCommand', 'portsAttributes',
  'otherPortsAttributes', 'forwardPorts', 'shutdownAction', 'updateRemoteUserUID', 'hostRequirements',
];

/**
 * Every feature devcontainer.json names, and those they depend on: located (a local folder) or
 * pulled (OCI), their devcontainer-feature.json read, options resolved and checked, put in install
 * order. Every problem at once, each where it is (devcontainer.json or the feature's own file).
 */
export async function resolveFeatures(read: DevcontainerRead, options: ResolveOptions): Promise<FeaturesResolution> {
  const document = reparse(read.file);
  const locked = readLockfile(read.file);
  const problems: DevcontainerProblem[] = [];
  const warnings: string[] = [];
  const notes: string[] = [];
  const at = (path: (string | number)[], message: string, severity: 'error' | 'warning' = 'error'): void => {
    const problem: DevcontainerProblem = { severity, file: read.file, ...document.locate(path), path: formatPath(path), message };
    if (severity === 'error') problems.push(problem);
    else warnings.push(`${problem.path}: ${message} (line ${String(problem.line)})`);
  };

  interface Pending { userId: string; value: unknown; path: (string | number)[]; requiredBy: string | null }
  const worklist: Pending[] = mapLegacyFeatures(read.config.features).map(({ userId, value, writtenAs, warnings: changed }) => {
    for (const w of changed) at(['features', w.at], w.message, 'warning');
    return { userId, value, path: ['features', writtenAs], requiredBy: null };
  });
  const nodes: { node: OrderNode; feature: Omit<ResolvedFeature, 'consecutiveId'> }[] = [];
  const seen = new Set<string>();
  while (worklist.length > 0) {
    const item = worklist.shift() as Pending;
    if (nodes.length >= MAX_FEATURES) {
      at(['features'], `more than ${String(MAX_FEATURES)} features with their dependencies; Berth stops there`);
      break;
    }
    const where = item.requiredBy === null ? '' : ` (a dependsOn of ${item.requiredBy})`;
    const ref = parseFeatureRef(item.userId, read.file, read.localWorkspaceFolder);
    if ('error' in ref) {
      at(item.path, ref.error + where);
      continue;
    }
    const lock = ref.kind === 'oci' ? locked[item.userId] : undefined;
    // A locked feature is pulled by the digest it resolved to (the reference's lockfile integrity).
    const pinned: FeatureRef = ref.kind === 'oci' && lock !== undefined ? { ...ref, digest: lock.integrity, reference: lock.integrity } : ref;
    const fetched = await fetchFeature(pinned, options.cacheDir, options.offline === true).catch((cause: unknown) => {
      if (cause instanceof BerthError) at(item.path, `${cause.message}${where} ${cause.hint ?? ''}`.trim());
      else throw cause;
      return null;
    });
    if (fetched === null) continue;
    if (fetched.note !== null) notes.push(fetched.note);
    const metadataFile = join(fetched.dir, 'devcontainer-feature.json');
    if (!existsSync(metadataFile)) {
      at(item.path, `${fetched.dir} has no devcontainer-feature.json; a feature is a folder with devcontainer-feature.json and install.sh${where}`);
      continue;
    }
    if (!existsSync(join(fetched.dir, 'install.sh'))) {
      at(item.path, `${fetched.dir} has no install.sh${where}`);
      continue;
    }
    const parsed = parseFeatureMetadata(readFileSync(metadataFile, 'utf8'), metadataFile);
    problems.push(...parsed.problems);
    const metadata = parsed.metadata;
    if (metadata === null) continue;
    const resolved = resolveOptions(metadata.options, item.value);
    for (const p of resolved.problems) at([...item.path, ...p.at], p.message + where, p.severity);
    if (resolved.problems.some((p) => p.severity === 'error')) continue;
    // parseFeatureMetadata refused a malformed one, where it is in the feature's file.
    const contributed = readContribution(metadata.contributed);
    if ('errors' in contributed) continue;
    if (contributed.contribution.init) notes.push(`${item.userId} asks for init: the container runs one (Berth always does)`);

    const key = `${sourceKey(ref)}|${stableJson(resolved.values)}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const dependsOn: string[] = [];
    for (const [depId, depValue] of Object.entries(metadata.dependsOn)) {
      const depRef = parseFeatureRef(depId, read.file, read.localWorkspaceFolder);
      if ('error' in depRef) {
        at(item.path, `dependsOn ${JSON.stringify(depId)} of ${metadata.id}: ${depRef.error}`);
        continue;
      }
      // Its key is known once it is resolved: the same source with the options it is given.
      dependsOn.push(`${sourceKey(depRef)}|${JSON.stringify(depValue)}`);
      worklist.push({ userId: depId, value: depValue, path: item.path, requiredBy: item.userId });
    }
    const installsAfter = metadata.installsAfter.flatMap((id) => {
      const after = parseFeatureRef(id, read.file, read.localWorkspaceFolder);
      return 'error' in after ? [] : [sourceKey(after)];
    });
    const aliases = ref.kind === 'oci' ? metadata.legacyIds.map((legacy) => `oci:${ref.registry}/${ref.repository.split('/').slice(0, -1).join('/')}/${legacy}`) : [];
    nodes.push({
      node: { key, source: sourceKey(ref), aliases, kind: ref.kind, userId: item.userId, tag: ref.kind === 'oci' ? ref.tag : null, optionsKey: stableJson(resolved.values), dependsOn, installsAfter },
      feature: { ref: pinned, userId: item.userId, dir: fetched.dir, metadata, values: resolved.values, contribution: contributed.contribution, contentHash: fetched.contentHash },
    });
  }
  if (problems.length > 0) throw devcontainerError(read.file, problems, 'Fix the features named above (https://containers.dev/implementors/features/).');

  // dependsOn names a feature by source and the options as written; match it to the node resolved from it.
  for (const { node } of nodes) {
    node.dependsOn = node.dependsOn.map((dep) => {
      const [source, written] = [dep.slice(0, dep.indexOf('|')), JSON.parse(dep.slice(dep.indexOf('|') + 1)) as unknown];
      const match = nodes.find((n) => n.node.source === source && (isObject(written) ? Object.entries(written).every(([k, v]) => n.feature.values[k] === v) : true));
      return match?.node.key ?? dep;
    });
  }
  const override = read.config.overrideFeatureInstallOrder.flatMap((id, i) => {
    const ref = parseFeatureRef(id, read.file, read.localWorkspaceFolder);
    if ('error' in ref) {
      at(['overrideFeatureInstallOrder', i], ref.error);
      return [];
    }
    if (!nodes.some((n) => n.node.source === sourceKey(ref) || n.node.aliases.includes(sourceKey(ref)))) at(['overrideFeatureInstallOrder', i], `${id} is not one of the features; it orders nothing`, 'warning');
    return [sourceKey(ref)];
  });
  if (problems.length > 0) throw devcontainerError(read.file, problems);
  const ordered = installOrder(nodes.map((n) => n.node), override);
  if ('error' in ordered) throw devcontainerError(read.file, [{ severity: 'error', file: read.file, ...document.locate(['features']), path: 'features', message: ordered.error }]);

  const features = ordered.order.map((node, index): ResolvedFeature => {
    const { feature } = nodes.find((n) => n.node === node) as (typeof nodes)[number];
    return { ...feature, consecutiveId: `${feature.metadata.id.replace(/[^A-Za-z0-9_.-]/g, '_')}_${String(index)}` };
  });
  const mounts = featureMounts(features, read, options.env ?? process.env, (feature, message) => at(['features', feature.userId], message));
  if (problems.length > 0) throw devcontainerError(read.file, problems);
  if (options.writeLockfile !== false) {
    const entries: Record<string, LockEntry> = {};
    for (const f of features) {
      if (f.ref.kind !== 'oci') continue;
      const deps = Object.keys(f.metadata.dependsOn);
      entries[f.userId] = { version: f.metadata.version ?? '', resolved: `${f.ref.registry}/${f.ref.repository}@${f.contentHash}`, integrity: f.contentHash, dependsOn: deps };
    }
    if (Object.keys(entries).length > 0 && writeLockfile(read.file, entries)) notes.push(`wrote ${shortLockName(read.file)} (the OCI features' digests, as the reference does)`);
  }
  const raw = document.value as Record<string, unknown>;
  const configMetadata = Object.fromEntries(CONFIG_METADATA_KEYS.filter((key) => raw[key] !== undefined).map((key) => [key, raw[key]]));
  const hash = createHash('sha256')
    .update(stableJson(features.map((f) => [f.userId, f.contentHash, f.values, f.consecutiveId])))
    .digest('hex')
    .slice(0, 16);
  return { features, configMetadata, mounts, warnings, notes, hash };
}

/**
 * Each feature's `mounts` (docker --mount strings or objects, as in devcontainer.json), with the
 * config's variables substituted (`${devcontainerId}` names the docker-in-docker volume), as the
 * reference reads them (getDevcontainerMetadata, src/spec-node/imageMetadata.ts@v0.88.0).
 */
function featureMounts(features: ResolvedFeature[], read: DevcontainerRead, env: Readonly<Record<string, string | undefined>>, problem: (feature: ResolvedFeature, message: string) => void): DevcontainerMount[] {
  const context = { env, localWorkspaceFolder: read.localWorkspaceFolder, containerWorkspaceFolder: read.config.workspaceFolder, devcontainerId: read.devcontainerId };
  const out: DevcontainerMount[] = [];
  for (const feature of features) {
    const raw = feature.metadata.contributed['mounts'];
    if (raw === undefined || raw === null) continue;
    if (!Array.isArray(raw)) {
      problem(feature, `the feature ${feature.metadata.id}'s "mounts" is not an array`);
      continue;
    }
    for (const item of substituteValue(raw, context) as unknown[]) {
      const parsed: MountResult = typeof item === 'string' ? parseMountString(item) : isObject(item) ? parseMountObject(item) : { error: 'a mount is a string or an object' };
      if ('error' in parsed) problem(feature, `a mount of the feature ${feature.metadata.id}: ${parsed.error}`);
      else out.push(parsed.mount);
    }
  }
  return out;
}

async function fetchFeature(ref: FeatureRef, cacheDir: string, offline: boolean): Promise<{ dir: string; contentHash: string; note: string | null }> {
  if (ref.kind === 'local') {
    if (!existsSync(ref.path) || !statSync(ref.path).isDirectory()) {
      throw new BerthError('E_NOT_FOUND', `the local feature folder ${ref.path} does not exist.`, { hint: 'A local feature is a folder beside devcontainer.json, named "./<folder>".' });
    }
    return { dir: ref.path, contentHash: folderHash(ref.path), note: null };
  }
  const pulled = offline ? cachedOciFeature(ref, join(cacheDir, 'oci')) : await pullOciFeature(ref, join(cacheDir, 'oci'));
  if (pulled === null) throw new FeaturesUnknownOffline(ref.userId);
  return { dir: pulled.dir, contentHash: pulled.manifestDigest, note: pulled.offlineNote };
}

/** Paths, modes and contents, sorted: the same folder always hashes the same. */
function folderHash(root: string): string {
  const hash = createHash('sha256');
  let total = 0;
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      const stat = lstatSync(path);
      const rel = relative(root, path);
      if (stat.isSymbolicLink()) throw new BerthError('E_INVALID_INPUT', `the feature folder holds a link, ${path}.`, { hint: 'Copy the file into the feature folder instead of linking it.' });
      if (stat.isDirectory()) {
        hash.update(`d ${rel}\n`);
        walk(path);
      } else if (stat.isFile()) {
        total += stat.size;
        if (total > MAX_FEATURE_BYTES) throw new BerthError('E_INVALID_INPUT', `the feature folder ${root} holds more than ${String(MAX_FEATURE_BYTES)} bytes.`, { hint: 'A feature is its devcontainer-feature.json, install.sh and a few files it needs.' });
        hash.update(`f ${rel} ${String(stat.mode & 0o111 ? 1 : 0)} ${String(stat.size)}\n`).update(readFileSync(path));
      }
    }
  };
  walk(root);
  return `sha256:${hash.digest('hex')}`;
}

function shortLockName(configFile: string): string {
  return configFile.split('/').slice(-2, -1).concat(configFile.endsWith('/.devcontainer.json') ? '.devcontainer-lock.json' : 'devcontainer-lock.json').join('/');
}

function reparse(file: string): JsoncDocument {
  const text = readFileSync(file, 'utf8');
  const parsed = parseJsonc(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text, file);
  if (!parsed.ok) throw devcontainerError(file, parsed.problems);
  return parsed.document;
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (isObject(value)) return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${stableJson(value[k])}`).join(',')}}`;
  return JSON.stringify(value);
}

function formatPath(path: (string | number)[]): string {
  // Feature ids hold dots and slashes: `features["./local"].version`.
  return path.map((part, i) => (typeof part === 'number' ? `[${String(part)}]` : /^[A-Za-z_$][\w$]*$/.test(part) ? (i === 0 ? part : `.${part}`) : `[${JSON.stringify(part)}]`)).join('');
}
