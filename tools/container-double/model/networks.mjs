// @ts-check
// Networks: Apple's `default` is the engine network acd-default; `network create X` makes acd-<hash>-X.

import { DEFAULT_MTU, DEFAULT_NET_ENGINE, LABEL, LABEL_CONFIG, LABEL_ROLE, LABEL_STATE } from '../core/config.mjs';
import { fail } from '../core/errors.mjs';
import { lines, parseJsonArray } from '../core/engine.mjs';
import { encodeDate } from '../core/output.mjs';

/** @typedef {import('../core/context.mjs').Ctx} Ctx */

/**
 * An engine network inspect object, normalised across podman and docker.
 * @typedef {object} EngineNetwork
 * @property {string} name
 * @property {number} created
 * @property {string | undefined} subnet
 * @property {string | undefined} gateway
 * @property {string | undefined} subnetV6
 * @property {boolean} internal
 * @property {Record<string, string>} labels
 */

/**
 * What `network create` recorded (in a label of the engine network).
 * @typedef {{ creationMs?: number, labels?: Record<string, string>, options?: Record<string, string>, plugin?: string, ipv4Subnet?: string, ipv6Subnet?: string, internal?: boolean }} NetworkConfig
 */

/** @typedef {EngineNetwork & { appleName: string, builtin: boolean, config: NetworkConfig }} Network */

/**
 * @param {Ctx} ctx
 * @param {string} name
 */
export function engineNetworkName(ctx, name) {
  return name === 'default' ? DEFAULT_NET_ENGINE : ctx.config.prefix + name;
}

/**
 * @param {Ctx} ctx
 * @param {Record<string, any>} raw
 * @returns {EngineNetwork}
 */
function normalizeEngineNetwork(ctx, raw) {
  if (ctx.config.isDocker) {
    const configs = /** @type {{ Subnet?: string, Gateway?: string }[]} */ (raw.IPAM?.Config ?? []);
    const cfg = configs.find((c) => c.Subnet && !c.Subnet.includes(':')) ?? {};
    const v6 = configs.find((c) => c.Subnet && c.Subnet.includes(':'));
    return { name: raw.Name, created: Date.parse(raw.Created), subnet: cfg.Subnet, gateway: cfg.Gateway, subnetV6: v6?.Subnet, internal: raw.Internal === true, labels: raw.Labels ?? {} };
  }
  const subnets = /** @type {{ subnet: string, gateway?: string }[]} */ (raw.subnets ?? []);
  const v4 = subnets.find((s) => !s.subnet.includes(':'));
  const v6 = subnets.find((s) => s.subnet.includes(':'));
  return { name: raw.name, created: Date.parse(raw.created), subnet: v4?.subnet, gateway: v4?.gateway, subnetV6: v6?.subnet, internal: raw.internal === true, labels: raw.labels ?? {} };
}

/**
 * @param {Ctx} ctx
 * @param {string[]} names
 */
function inspectEngineNetworks(ctx, names) {
  if (names.length === 0) return [];
  const r = ctx.engine.run(['network', 'inspect', ...names]);
  return parseJsonArray(r.stdout).map((raw) => normalizeEngineNetwork(ctx, raw));
}

/**
 * @param {string | undefined} text
 * @returns {{ base: number, prefix: number, mask: number } | null}
 */
export function parseCidr(text) {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(text ?? '');
  if (!m) return null;
  const [a, b, c, d] = m.slice(1, 5).map(Number);
  const prefix = Number(m[5]);
  if (a === undefined || b === undefined || c === undefined || d === undefined) return null;
  if ([a, b, c, d].some((o) => o > 255) || prefix > 32) return null;
  const ip = ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return { base: (ip & mask) >>> 0, prefix, mask };
}

/** @param {number} n */
function ipString(n) {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/**
 * @param {string | undefined} a
 * @param {string | undefined} b
 */
export function cidrOverlap(a, b) {
  const x = parseCidr(a);
  const y = parseCidr(b);
  if (!x || !y) return false;
  const mask = x.prefix < y.prefix ? x.mask : y.mask;
  return ((x.base & mask) >>> 0) === ((y.base & mask) >>> 0);
}

/** @param {string | undefined} subnet */
export function gatewayFor(subnet) {
  const c = parseCidr(subnet);
  return c ? ipString(c.base + 1) : undefined;
}

/**
 * The MTU option of a network the double creates, in the engine's words.
 * @param {Ctx} ctx
 */
export function mtuArgs(ctx) {
  return ctx.config.isDocker ? ['-o', `com.docker.network.driver.mtu=${DEFAULT_MTU}`] : ['--disable-dns', '-o', `mtu=${DEFAULT_MTU}`];
}

/**
 * The engine network behind `default`, made on first use.
 * @param {Ctx} ctx
 */
export function ensureDefaultNetwork(ctx) {
  let found = inspectEngineNetworks(ctx, [DEFAULT_NET_ENGINE])[0];
  if (found) return found;
  const args = ['network', 'create', '--label', `${LABEL}=1`, '--label', `${LABEL_ROLE}=builtin`, ...mtuArgs(ctx)];
  if (ctx.config.defaultSubnet) args.push('--subnet', ctx.config.defaultSubnet);
  ctx.engine.run([...args, DEFAULT_NET_ENGINE]); // a parallel double may win the race: inspect again either way
  found = inspectEngineNetworks(ctx, [DEFAULT_NET_ENGINE])[0];
  if (!found) return fail('internalError', 'failed to create the default network');
  return found;
}

/**
 * @param {EngineNetwork} n
 * @returns {NetworkConfig}
 */
function storedConfig(n) {
  try {
    return JSON.parse(n.labels[LABEL_CONFIG] ?? '{}');
  } catch {
    return {}; // keep the defaults
  }
}

/**
 * The double's networks: `default` plus the ones created with this state directory.
 * @param {Ctx} ctx
 * @returns {Network[]}
 */
export function listNetworks(ctx) {
  const r = ctx.engine.run(['network', 'ls', '--format', '{{.Name}}', '--filter', `label=${LABEL_STATE}=${ctx.config.hash}`]);
  const names = lines(r.stdout).filter((n) => n.startsWith(ctx.config.prefix));
  /** @type {Network[]} */
  const networks = [{ ...ensureDefaultNetwork(ctx), appleName: 'default', builtin: true, config: {} }];
  for (const n of inspectEngineNetworks(ctx, names)) {
    networks.push({ ...n, appleName: n.name.slice(ctx.config.prefix.length), builtin: false, config: storedConfig(n) });
  }
  return networks;
}

/**
 * @param {Ctx} ctx
 * @param {string} name
 * @returns {Network | null}
 */
export function findNetwork(ctx, name) {
  if (name === 'default') return { ...ensureDefaultNetwork(ctx), appleName: 'default', builtin: true, config: {} };
  const n = inspectEngineNetworks(ctx, [ctx.config.prefix + name])[0];
  if (!n || n.labels[LABEL_STATE] !== ctx.config.hash) return null;
  return { ...n, appleName: name, builtin: false, config: storedConfig(n) };
}

/**
 * An `--internal` network: recorded in its config, since the engine network behind it may route out.
 * @param {Network} n
 */
function hostOnly(n) {
  return n.config.internal === true || n.internal;
}

/**
 * A network as `network inspect` and `network list --format json` print it.
 * @param {Ctx} ctx
 * @param {Network} n
 */
export function networkResource(ctx, n) {
  const { release } = ctx;
  const subnetStatus = ctx.config.macos < 26 && n.builtin && n.gateway ? `${n.gateway}/${parseCidr(n.subnet)?.prefix ?? 24}` : n.subnet;
  const gateway = n.gateway && n.gateway !== '<nil>' ? n.gateway : gatewayFor(n.subnet);
  const labels = n.builtin ? { 'com.apple.container.resource.role': 'builtin' } : (n.config.labels ?? {});
  const creation = n.builtin ? n.created : (n.config.creationMs ?? n.created);
  const creationDate = encodeDate(release, Number.isNaN(creation) ? Date.now() : creation);
  if (release.has('json.managed-resources')) {
    return {
      id: n.appleName,
      configuration: {
        name: n.appleName,
        creationDate,
        mode: hostOnly(n) ? 'hostOnly' : 'nat',
        ipv4Subnet: n.builtin ? undefined : n.config.ipv4Subnet,
        ipv6Subnet: n.builtin ? undefined : n.config.ipv6Subnet,
        labels,
        plugin: n.builtin ? 'container-network-vmnet' : (n.config.plugin ?? 'container-network-vmnet'),
        options: n.builtin ? {} : (n.config.options ?? {}),
      },
      status: { ipv4Subnet: subnetStatus, ipv4Gateway: gateway, ipv6Subnet: n.subnetV6 },
    };
  }
  const status = release.has('json.ipv4-attachments')
    ? { ipv4Subnet: subnetStatus, ipv4Gateway: gateway, ipv6Subnet: n.subnetV6 }
    : { address: subnetStatus, gateway };
  return {
    id: n.appleName,
    state: 'running',
    config: {
      id: n.appleName,
      creationDate,
      mode: hostOnly(n) ? 'hostOnly' : 'nat',
      ipv4Subnet: n.builtin ? undefined : n.config.ipv4Subnet,
      labels,
      pluginInfo: { plugin: 'container-network-vmnet' },
    },
    status,
  };
}

/**
 * Every IPv4 subnet the engine's networks use (the double's and everyone else's).
 * @param {Ctx} ctx
 */
export function usedSubnets(ctx) {
  const names = lines(ctx.engine.run(['network', 'ls', '--format', '{{.Name}}']).stdout);
  return inspectEngineNetworks(ctx, names).flatMap((n) => (n.subnet ? [n.subnet] : []));
}
