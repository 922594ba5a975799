// @ts-check
// Containers: Apple ID X is engine container acd-<hash>-X, carrying the full Apple configuration
// (1.2.2 form) in a label. The engine container is the one source of truth.

import { DEFAULT_MTU, LABEL_CONFIG, LABEL_STATE } from '../core/config.mjs';
import { encodeDate } from '../core/output.mjs';
import { lines, parseJsonArray } from '../core/engine.mjs';
import { gatewayFor } from './networks.mjs';

/** @typedef {import('../core/context.mjs').Ctx} Ctx */

/** RLIM_INFINITY as a UInt64; kept as a string in stored JSON and printed as a bare number. */
export const UNLIMITED = 'unlimited';
const UINT64_MAX = 18446744073709551615n;

/**
 * Apple's ContainerConfiguration as 1.2.2 prints it (older releases print a subset: versionedConfiguration).
 * @typedef {object} AppleConfiguration
 * @property {string} id
 * @property {{ reference: string, descriptor: { digest: string, mediaType: string, size: number } }} image
 * @property {{ type: Record<string, any>, source: string, destination: string, options: string[] }[]} mounts
 * @property {{ hostAddress: string, hostPort: number, containerPort: number, proto: string, count: number }[]} publishedPorts
 * @property {{ hostPath: string, containerPath: string }[]} publishedSockets
 * @property {Record<string, string>} labels
 * @property {Record<string, string>} sysctls
 * @property {{ network: string, options: { hostname: string, macAddress?: string, mtu?: number } }[]} networks
 * @property {{ nameservers: string[], domain?: string, searchDomains: string[], options: string[] } | undefined} dns
 * @property {boolean} rosetta
 * @property {{ executable: string, arguments: string[], environment: string[], workingDirectory: string, terminal: boolean, user: Record<string, any>, supplementalGroups: number[], rlimits: { limit: string, soft: number | string, hard: number | string }[] }} initProcess
 * @property {{ os: string, architecture: string, variant: string | undefined }} platform
 * @property {{ cpus: number, memoryInBytes: number, cpuOverhead: number }} resources
 * @property {string} runtimeHandler
 * @property {boolean} virtualization
 * @property {boolean} ssh
 * @property {boolean} readOnly
 * @property {boolean} useInit
 * @property {string[]} capAdd
 * @property {string[]} capDrop
 * @property {number | undefined} shmSize
 * @property {string | undefined} stopSignal
 * @property {string[] | undefined} maskedPaths
 * @property {string[] | undefined} readonlyPaths
 * @property {string} creationDate
 */

/**
 * What the engine container's config label holds: Apple's configuration and the double's private facts.
 * @typedef {{ apple: AppleConfiguration, x: { autoRemove: boolean, engineNetworks: string[], macs: string[] } }} Stored
 */

/**
 * @typedef {object} ContainerRecord
 * @property {string} id
 * @property {string} engineName
 * @property {Stored} stored
 * @property {'running' | 'stopping' | 'stopped' | 'unknown'} state
 * @property {number | undefined} startedMs
 * @property {boolean} hidden A --rm container whose process has exited: gone for Apple.
 * @property {Record<string, any>} networks The engine's NetworkSettings.Networks.
 * @property {Record<string, any>} raw The engine's inspect object.
 */

/**
 * @param {Ctx} ctx
 * @param {string} id
 */
export function engineContainerName(ctx, id) {
  return ctx.config.prefix + id;
}

/**
 * @param {Record<string, any>} raw
 * @returns {ContainerRecord['state']}
 */
function engineState(raw) {
  const status = String(raw.State?.Status ?? '').toLowerCase();
  if (status === 'running') return 'running';
  if (status === 'stopping' || status === 'removing') return 'stopping';
  if (['created', 'configured', 'initialized', 'exited', 'stopped', 'dead'].includes(status)) return 'stopped';
  if (status === 'paused') return 'running';
  return 'unknown';
}

/**
 * @param {Ctx} ctx
 * @param {Record<string, any>} raw
 * @returns {ContainerRecord | null}
 */
function toRecord(ctx, raw) {
  const labels = raw.Config?.Labels ?? {};
  if (labels[LABEL_STATE] !== ctx.config.hash || !labels[LABEL_CONFIG]) return null;
  /** @type {Stored} */
  let stored;
  try {
    stored = JSON.parse(labels[LABEL_CONFIG]);
  } catch {
    return null;
  }
  const status = String(raw.State?.Status ?? '').toLowerCase();
  const startedMs = Date.parse(raw.State?.StartedAt ?? '');
  const started = !Number.isNaN(startedMs) && new Date(startedMs).getUTCFullYear() > 1970;
  const exited = ['exited', 'stopped', 'dead'].includes(status) && started;
  return {
    id: stored.apple.id,
    engineName: String(raw.Name ?? '').replace(/^\//, ''),
    stored,
    state: engineState(raw),
    startedMs: started ? startedMs : undefined,
    // A --rm container is gone once its process has exited (the apiserver deletes its bundle).
    hidden: stored.x.autoRemove === true && exited,
    networks: raw.NetworkSettings?.Networks ?? {},
    raw,
  };
}

/**
 * @param {Ctx} ctx
 * @param {string[]} names
 * @returns {ContainerRecord[]}
 */
export function inspectRecords(ctx, names) {
  if (names.length === 0) return [];
  const r = ctx.engine.run(['container', 'inspect', ...names]);
  return parseJsonArray(r.stdout).flatMap((raw) => toRecord(ctx, raw) ?? []);
}

/**
 * Every container of this state directory, hidden --rm leftovers included (system start needs to see everything).
 * @param {Ctx} ctx
 */
export function listRecordsRaw(ctx) {
  const r = ctx.engine.run(['ps', '-a', '-q', '--no-trunc', '--filter', `label=${LABEL_STATE}=${ctx.config.hash}`]);
  return inspectRecords(ctx, lines(r.stdout));
}

/**
 * Every container of this double (hidden --rm leftovers are removed on the way).
 * @param {Ctx} ctx
 */
export function listRecords(ctx) {
  const records = listRecordsRaw(ctx);
  for (const rec of records) if (rec.hidden) reap(ctx, rec);
  return records.filter((rec) => !rec.hidden);
}

/**
 * @param {Ctx} ctx
 * @param {string} id
 */
export function getRecord(ctx, id) {
  const rec = inspectRecords(ctx, [engineContainerName(ctx, id)])[0];
  if (!rec || rec.id !== id) return null;
  if (rec.hidden) {
    reap(ctx, rec);
    return null;
  }
  return rec;
}

/**
 * @param {Ctx} ctx
 * @param {ContainerRecord} rec
 */
export function reap(ctx, rec) {
  ctx.engine.run(['rm', '-f', rec.engineName]);
}

/**
 * A container of the machine plugin: not a container for the container commands.
 * @param {Ctx} ctx
 * @param {ContainerRecord} rec
 */
export function isMachine(ctx, rec) {
  return ctx.release.has('machine-containers') && rec.stored.apple.labels?.['com.apple.container.plugin'] === 'machine';
}

/**
 * The network attachments of a running container, with the engine's real addresses.
 * @param {Ctx} ctx
 * @param {ContainerRecord} rec
 */
export function attachments(ctx, rec) {
  const { release } = ctx;
  if (rec.state !== 'running') return [];
  /** @type {Record<string, unknown>[]} */
  const result = [];
  rec.stored.apple.networks.forEach((n, i) => {
    const en = rec.networks[rec.stored.x.engineNetworks[i] ?? ''];
    if (!en || !en.IPAddress) return;
    const cidr = `${en.IPAddress}/${en.IPPrefixLen}`;
    const gateway = en.Gateway && en.Gateway !== '<nil>' ? en.Gateway : gatewayFor(cidr);
    const mac = !ctx.config.isDocker && en.MacAddress ? en.MacAddress.toLowerCase() : rec.stored.x.macs[i];
    if (!release.has('json.ipv4-attachments')) {
      result.push({ network: n.network, hostname: n.options.hostname, address: cidr, gateway, macAddress: mac });
      return;
    }
    result.push({
      network: n.network,
      hostname: n.options.hostname,
      ipv4Address: cidr,
      ipv4Gateway: gateway,
      macAddress: mac,
      mtu: release.has('network.mtu') ? (n.options.mtu ?? DEFAULT_MTU) : undefined,
      variant: release.has('json.attachment-variant') ? (ctx.config.macos < 26 ? 'allocationOnly' : 'reserved') : undefined,
    });
  });
  return result;
}

/**
 * The stored (1.2.2) configuration, trimmed to the fields the emulated version prints (§3.4).
 * @param {import('../core/release.mjs').Release} release
 * @param {AppleConfiguration} apple
 * @returns {Record<string, any>}
 */
function versionedConfiguration(release, apple) {
  /** @type {Record<string, any>} */
  const c = structuredClone(apple);
  c.initProcess.rlimits = apple.initProcess.rlimits.map((r) => ({
    ...r,
    soft: r.soft === UNLIMITED ? UINT64_MAX : r.soft,
    hard: r.hard === UNLIMITED ? UINT64_MAX : r.hard,
  }));
  /** @type {{ options: Record<string, unknown> }[]} */
  const networks = c.networks;
  if (!release.has('create.masked-path')) {
    delete c.maskedPaths;
    delete c.readonlyPaths;
  }
  if (!release.has('json.managed-resources')) {
    delete c.creationDate;
    delete c.stopSignal;
    delete c.shmSize;
    delete c.resources.cpuOverhead;
    c.publishedSockets = apple.publishedSockets.map((s) => ({ ...s, containerPath: `file://${s.containerPath}`, hostPath: `file://${s.hostPath}` }));
  }
  if (!release.has('create.cap-add')) {
    delete c.capAdd;
    delete c.capDrop;
  }
  if (!release.has('create.init')) delete c.useInit;
  if (!release.has('create.read-only')) delete c.readOnly;
  if (!release.has('network.mtu')) for (const n of networks) delete n.options.mtu;
  if (!release.has('network.mac')) for (const n of networks) delete n.options.macAddress;
  if (!release.has('create.publish')) delete c.publishedPorts;
  if (!release.has('json.network-objects')) {
    delete c.publishedSockets;
    c.hostname = apple.networks[0]?.options.hostname ?? apple.id;
    c.networks = apple.networks.map((n) => n.network);
  }
  return c;
}

/**
 * A container as `list --format json` and `inspect` print it.
 * @param {Ctx} ctx
 * @param {ContainerRecord} rec
 * @param {import('../core/system-state.mjs').SystemState} sys
 */
export function renderContainer(ctx, rec, sys) {
  const { release } = ctx;
  const configuration = versionedConfiguration(release, rec.stored.apple);
  const bootMs = sys.bootMs ?? 0;
  const started = rec.startedMs !== undefined && rec.startedMs >= bootMs ? encodeDate(release, rec.startedMs) : undefined;
  const networks = attachments(ctx, rec);
  if (release.has('json.managed-resources')) return { id: rec.id, configuration, status: { state: rec.state, networks, startedDate: started } };
  if (release.has('inspect.started-date')) return { status: rec.state, configuration, networks, startedDate: started };
  return { status: rec.state, configuration, networks };
}
