// @ts-check
// The double's configuration: read once from the environment at start-up and passed down, so no
// module reads process.env on its own and a test can build one by hand.

import { createHash } from 'node:crypto';
import path from 'node:path';

export const MIB = 1024 * 1024;
export const DEFAULT_CPUS = 4;
export const DEFAULT_MEMORY = 1024 * MIB;
export const DEFAULT_MTU = 1280;
/** Engine objects of the double carry `LABEL=1` and the label keys below. */
export const LABEL = 'dev.berth.container-double';
export const LABEL_STATE = `${LABEL}.state`;
export const LABEL_ID = `${LABEL}.id`;
export const LABEL_CONFIG = `${LABEL}.config`;
export const LABEL_ROLE = `${LABEL}.role`;
/** The engine network behind Apple's `default` (shared by every state directory of one engine). */
export const DEFAULT_NET_ENGINE = 'acd-default';

/**
 * @typedef {object} Config
 * @property {NodeJS.ProcessEnv} env The environment passed to the engine (and read by `-e NAME`, `--env-file`).
 * @property {string} engine CONTAINER_DOUBLE_ENGINE: `podman` or `docker`, or a path to either.
 * @property {boolean} isDocker
 * @property {string} version CONTAINER_DOUBLE_VERSION: the emulated release.
 * @property {number} macos CONTAINER_DOUBLE_MACOS: the emulated macOS major version.
 * @property {string} stateDir CONTAINER_DOUBLE_STATE, absolute.
 * @property {string} hash First 8 hex digits of the SHA-256 of stateDir: tells state directories apart in the engine.
 * @property {string} prefix Engine name prefix of this state directory's objects: `acd-<hash>-`.
 * @property {string} commit The made-up commit of the emulated release (stable per version).
 * @property {string} shortCommit
 * @property {string | undefined} defaultSubnet CONTAINER_DOUBLE_DEFAULT_SUBNET.
 * @property {string | undefined} dnsDomain CONTAINER_DOUBLE_DNS_DOMAIN.
 * @property {boolean} oldGuestKernel CONTAINER_DOUBLE_GUEST_KERNEL=6.12.28.
 * @property {boolean} enforceResources CONTAINER_DOUBLE_ENFORCE_RESOURCES=1.
 * @property {boolean} hostOnlyIsolates CONTAINER_DOUBLE_HOSTONLY_ISOLATES=1.
 * @property {boolean} kernelPreinstalled CONTAINER_DOUBLE_KERNEL=installed.
 * @property {string} binary This executable's path (the install root is derived from it).
 */

/**
 * @param {NodeJS.ProcessEnv} env
 * @param {string} binary
 * @returns {Readonly<Config>}
 */
export function readConfig(env, binary) {
  const engine = env.CONTAINER_DOUBLE_ENGINE || 'podman';
  const version = env.CONTAINER_DOUBLE_VERSION || '1.2.2';
  const stateDir = path.resolve(env.CONTAINER_DOUBLE_STATE || '/var/tmp/berth-container-double');
  const hash = createHash('sha256').update(stateDir).digest('hex').slice(0, 8);
  const commit = createHash('sha1').update(`apple/container ${version}`).digest('hex');
  return Object.freeze({
    env,
    engine,
    isDocker: path.basename(engine).includes('docker'),
    version,
    macos: Number.parseInt(env.CONTAINER_DOUBLE_MACOS || '26', 10),
    stateDir,
    hash,
    prefix: `acd-${hash}-`,
    commit,
    shortCommit: commit.slice(0, 7),
    defaultSubnet: env.CONTAINER_DOUBLE_DEFAULT_SUBNET || undefined,
    dnsDomain: env.CONTAINER_DOUBLE_DNS_DOMAIN || undefined,
    oldGuestKernel: env.CONTAINER_DOUBLE_GUEST_KERNEL === '6.12.28',
    enforceResources: env.CONTAINER_DOUBLE_ENFORCE_RESOURCES === '1',
    hostOnlyIsolates: env.CONTAINER_DOUBLE_HOSTONLY_ISOLATES === '1',
    kernelPreinstalled: env.CONTAINER_DOUBLE_KERNEL === 'installed',
    binary,
  });
}
