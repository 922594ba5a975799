import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BerthError } from '../../errors.js';
import type { BuildImageOptions, ImageInfo } from '../../runtime/types.js';
import { envFileText, shellQuote } from './options.js';
import type { FeaturesResolution, ResolvedFeature } from './resolve.js';

/**
 * The image with the features installed, layered on the base image as the reference does
 * (getContainerFeaturesBaseDockerFile, getFeatureLayers, getFeatureInstallWrapperScript in
 * src/spec-configuration/containerFeaturesConfiguration.ts and getFeaturesBuildOptions in
 * src/spec-node/containerFeatures.ts, devcontainers/cli@v0.88.0): as root, each feature's
 * containerEnv as ENV, then its folder copied to /tmp/dev-container-features/<id>_<n> and its
 * install.sh run by a wrapper that sources the built-in variables (_CONTAINER_USER, _REMOTE_USER,
 * their homes) and its options (upper-cased); the image's user restored; the devcontainer.metadata
 * label: the base image's entries, one per feature, then the config's.
 *
 * Tagged by content (the base image's id, the Dockerfile, every feature's files and options, the
 * label): an unchanged set is reused without building, a changed one is a new image (drift).
 */
export const FEATURES_DIR = '/tmp/dev-container-features';
export const METADATA_LABEL = 'devcontainer.metadata';

export interface FeaturesImageOptions {
  baseImage: string;
  containerUser: string | null;
  remoteUser: string | null;
  labels?: Readonly<Record<string, string>> | undefined;
  onOutput?: ((chunk: Buffer) => void) | undefined;
  timeoutMs?: number | undefined;
}

export interface FeaturesImage {
  tag: string;
  built: boolean;
}

export interface ImageBuilder {
  imageInspect(ref: string): Promise<ImageInfo>;
  buildImage(options: BuildImageOptions): Promise<ImageInfo>;
}

export async function ensureFeaturesImage(runtime: ImageBuilder, resolution: FeaturesResolution, options: FeaturesImageOptions): Promise<FeaturesImage> {
  const { tag, dockerfile, builtins, label } = await featuresImageOf(runtime, resolution, options);
  const present = await runtime.imageInspect(tag).then(
    () => true,
    () => false,
  );
  if (present) return { tag, built: false };

  const context = mkdtempSync(join(tmpdir(), 'berth-features-'));
  try {
    mkdirSync(join(context, 'features'));
    writeFileSync(join(context, 'features', 'devcontainer-features.builtin.env'), builtins);
    for (const feature of resolution.features) {
      const dest = join(context, 'features', feature.consecutiveId);
      cpSync(feature.dir, dest, { recursive: true });
      const env = envFileText(feature.values);
      writeFileSync(join(dest, 'devcontainer-features.env'), env);
      writeFileSync(join(dest, 'devcontainer-features-install.sh'), installWrapper(feature, env));
    }
    writeFileSync(join(context, 'Dockerfile'), dockerfile);
    await runtime.buildImage({
      contextDir: context,
      dockerfile: join(context, 'Dockerfile'),
      tag,
      labels: { ...options.labels, [METADATA_LABEL]: label },
      onOutput: options.onOutput,
      timeoutMs: options.timeoutMs,
    });
  } finally {
    rmSync(context, { recursive: true, force: true });
  }
  return { tag, built: true };
}

/**
 * The features image's tag (its content) and what it is built from, without building: `ensure`
 * builds it, the planner hashes the tag (the base image's id is part of it, so a rebuilt base is a
 * new tag). One function for both, so they never disagree.
 */
export async function featuresImageOf(runtime: Pick<ImageBuilder, 'imageInspect'>, resolution: FeaturesResolution, options: FeaturesImageOptions): Promise<{ tag: string; dockerfile: string; builtins: string; label: string }> {
  const base = await runtime.imageInspect(options.baseImage).catch(() => null);
  const baseMetadata = metadataEntries(base?.labels[METADATA_LABEL]);
  const imageUser = base?.user ?? '';
  const { containerUser, remoteUser } = findUsers(baseMetadata, options, imageUser);
  const dockerfile = featuresDockerfile(resolution.features, options.baseImage, { containerUser, remoteUser, imageUser });
  const metadata = [...baseMetadata, ...resolution.features.map((f) => ({ id: f.userId, ...f.metadata.contributed })), resolution.configMetadata].filter((entry) => Object.keys(entry).length > 0);
  const label = JSON.stringify(metadata);
  const builtins = `_CONTAINER_USER=${shellQuote(containerUser)}\n_REMOTE_USER=${shellQuote(remoteUser)}\n`;
  const digest = createHash('sha256')
    .update(JSON.stringify([base?.id ?? options.baseImage, dockerfile, builtins, label, resolution.hash]))
    .digest('hex')
    .slice(0, 16);
  return { tag: `berth-devcontainer-features:${digest}`, dockerfile, builtins, label };
}

export function featuresDockerfile(features: readonly ResolvedFeature[], baseImage: string, users: { containerUser: string; remoteUser: string; imageUser: string }): string {
  // The image name lands in a Dockerfile line: a newline in it would add instructions.
  if (!/^[^\s]+$/.test(baseImage)) throw new BerthError('E_INVALID_INPUT', `The image ${JSON.stringify(baseImage)} is not an image reference.`, { hint: 'Check "image" in devcontainer.json.' });
  const builtins = `${FEATURES_DIR}/devcontainer-features.builtin.env`;
  const lines = [
    `FROM ${baseImage}`,
    'USER root',
    `RUN mkdir -p ${FEATURES_DIR}`,
    `COPY features/devcontainer-features.builtin.env ${FEATURES_DIR}/`,
    `RUN echo "_CONTAINER_USER_HOME=$( ${passwdEntry(users.containerUser)} | cut -d: -f6)" >> ${builtins} && \\`,
    `    echo "_REMOTE_USER_HOME=$( ${passwdEntry(users.remoteUser)} | cut -d: -f6)" >> ${builtins}`,
  ];
  for (const feature of features) {
    const dest = `${FEATURES_DIR}/${feature.consecutiveId}`;
    for (const [key, value] of Object.entries(feature.metadata.containerEnv)) lines.push(`ENV ${key}="${value.replace(/(?=["\\])/g, '\\')}"`);
    lines.push(`COPY --chown=root:root features/${feature.consecutiveId} ${dest}`);
    lines.push(`RUN chmod -R 0755 ${dest} && cd ${dest} && chmod +x ./devcontainer-features-install.sh && ./devcontainer-features-install.sh`);
  }
  lines.push(`USER ${users.imageUser === '' ? 'root' : users.imageUser}`);
  return `${lines.join('\n')}\n`;
}

/** getFeatureInstallWrapperScript: prints what it installs with which options, then runs install.sh with them. */
function installWrapper(feature: ResolvedFeature, envText: string): string {
  const quote = (text: string | null): string => shellQuote(text ?? '');
  const id = feature.ref.kind === 'oci' ? feature.ref.resource : feature.userId;
  return `#!/bin/sh
set -e

on_exit () {
	[ $? -eq 0 ] && exit
	echo ${shellQuote(`ERROR: Feature "${feature.metadata.name ?? feature.metadata.id}" (${id}) failed to install!`)}
}

trap on_exit EXIT

echo ===========================================================================
echo 'Feature       : '${quote(feature.metadata.name ?? feature.metadata.id)}
echo 'Id            : '${quote(id)}
echo 'Version       : '${quote(feature.metadata.version)}
echo 'Options       :'
echo ${shellQuote(envText.split('\n').filter((l) => l !== '').map((l) => `    ${l}`).join('\n'))}
echo ===========================================================================

set -a
. ../devcontainer-features.builtin.env
. ./devcontainer-features.env
set +a

chmod +x ./install.sh
./install.sh
`;
}

/** findContainerUsers (src/spec-node/containerFeatures.ts@v0.88.0): the config, else the label's last, else the image's. */
function findUsers(baseMetadata: Record<string, unknown>[], options: FeaturesImageOptions, imageUser: string): { containerUser: string; remoteUser: string } {
  const last = (key: string): string | null => {
    const entry = [...baseMetadata].reverse().find((e) => typeof e[key] === 'string' && e[key] !== '');
    return entry ? (entry[key] as string) : null;
  };
  const containerUser = options.containerUser ?? last('containerUser') ?? (imageUser === '' ? 'root' : imageUser);
  const remoteUser = options.remoteUser ?? last('remoteUser') ?? containerUser;
  for (const user of [containerUser, remoteUser]) {
    if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*(:[A-Za-z0-9_][A-Za-z0-9_.-]*)?$/.test(user)) {
      throw new BerthError('E_INVALID_INPUT', `The user ${JSON.stringify(user)} is not a user name or id features can be installed for.`, { hint: 'Check remoteUser/containerUser in devcontainer.json.' });
    }
  }
  return { containerUser, remoteUser };
}

/** The user's passwd line (getEntPasswdShellCommand): getent where there is one, else /etc/passwd. */
function passwdEntry(user: string): string {
  const name = user.split(':')[0] ?? user;
  return `(command -v getent >/dev/null 2>&1 && getent passwd '${name}' || grep -E '^${name.replace(/\./g, '\\.')}:|^[^:]*:[^:]*:${name.replace(/\./g, '\\.')}:' /etc/passwd || true)`;
}

/** The base image's devcontainer.metadata label: an array of entries (or one object), as internalGetImageMetadata0 reads it. */
export function metadataEntries(label: string | undefined): Record<string, unknown>[] {
  if (label === undefined || label === '') return [];
  try {
    const value = JSON.parse(label) as unknown;
    const entries = Array.isArray(value) ? value : [value];
    return entries.filter((e): e is Record<string, unknown> => e !== null && typeof e === 'object' && !Array.isArray(e));
  } catch {
    return [];
  }
}
