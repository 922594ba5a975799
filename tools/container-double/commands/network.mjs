// @ts-check
// The `network` group: create, list, inspect, delete, prune.

import { LABEL, LABEL_CONFIG, LABEL_STATE } from '../core/config.mjs';
import { FORMAT_OPTION, QUIET_OPTION, requireFormat } from '../core/args.mjs';
import { fail } from '../core/errors.mjs';
import { engineMessage } from '../core/engine.mjs';
import { printJson, renderTable } from '../core/output.mjs';
import { requireSystem } from '../core/system-state.mjs';
import { listRecords } from '../model/containers.mjs';
import { deleteEach } from './delete-each.mjs';
import { cidrOverlap, engineNetworkName, findNetwork, gatewayFor, listNetworks, mtuArgs, networkResource, parseCidr, usedSubnets } from '../model/networks.mjs';

/** @typedef {import('./command.mjs').Command} Command */

const NETWORK_NAME_RE = /^[a-z0-9](?:[a-z0-9._-]{0,61}[a-z0-9])?$/;

/**
 * `key=value` words as a map (a bare key has an empty value).
 * @param {string[]} words
 */
function keyValues(words) {
  /** @type {Record<string, string>} */
  const map = {};
  for (const w of words) {
    const eq = w.indexOf('=');
    map[eq === -1 ? w : w.slice(0, eq)] = eq === -1 ? '' : w.slice(eq + 1);
  }
  return map;
}

/** @type {Command} */
const create = {
  spec: {
    usage: 'container network create [<options>] <name>',
    path: 'network create',
    options: [
      { key: 'internal', names: ['--internal'], type: 'flag', since: 'network create.internal' },
      { key: 'label', names: ['--label'], type: 'array', since: 'network create.label' },
      { key: 'option', names: ['--option'], type: 'array' },
      { key: 'plugin', names: ['--plugin'], type: 'value' },
      { key: 'subnet', names: ['--subnet'], type: 'value' },
      { key: 'subnetV6', names: ['--subnet-v6'], type: 'value', since: 'network create.subnet-v6' },
    ],
    positionals: ['name'],
  },
  run(ctx, opts) {
    const { config, engine } = ctx;
    requireSystem(ctx);
    const name = opts._[0] ?? '';
    /** @type {string | undefined} */
    const subnet = opts.subnet;
    if (!NETWORK_NAME_RE.test(name)) fail('invalidArgument', `invalid network name: ${name}`);
    if (name === 'default' || findNetwork(ctx, name)) fail('exists', `network ${name} already exists`);
    const labels = keyValues(opts.label);
    const options = keyValues(opts.option);
    if (subnet !== undefined && !parseCidr(subnet)) fail('invalidArgument', `invalid IPv4 subnet ${subnet}`);
    if (subnet) {
      for (const n of listNetworks(ctx)) {
        if (n.subnet && cidrOverlap(n.subnet, subnet)) fail('invalidArgument', `IPv4 subnet ${subnet} overlaps an existing network with subnet ${n.subnet}`);
      }
    }
    const stored = { creationMs: Date.now(), labels, options, plugin: opts.plugin ?? 'container-network-vmnet', ipv4Subnet: subnet, ipv6Subnet: opts.subnetV6, internal: opts.internal === true };
    const base = ['network', 'create', '--label', `${LABEL}=1`, '--label', `${LABEL_STATE}=${config.hash}`, '--label', `${LABEL_CONFIG}=${JSON.stringify(stored)}`, ...mtuArgs(ctx)];
    // apple/container#2062 (open in 1.2.x): a hostOnly guest keeps its default route, so raw-IP TCP
    // still leaves it. The double reproduces that with an engine network that routes out, unless
    // CONTAINER_DOUBLE_HOSTONLY_ISOLATES=1 asks for the behaviour the bug's fix would give.
    if (opts.internal && config.hostOnlyIsolates) base.push('--internal');
    if (opts.subnetV6) base.push('--ipv6', '--subnet', opts.subnetV6);
    const engineName = engineNetworkName(ctx, name);
    /** @type {import('../core/engine.mjs').EngineResult | undefined} */
    let r;
    if (subnet) {
      r = engine.run([...base, '--subnet', subnet, ...(opts.internal && !config.isDocker ? ['--gateway', gatewayFor(subnet) ?? ''] : []), engineName]);
    } else if (opts.internal && !config.isDocker) {
      // podman gives an internal network no gateway address on the host unless one is set, and Apple's
      // hostOnly networks stay reachable from the host: pick a free /24 and set its gateway.
      const used = usedSubnets(ctx);
      for (let third = 255; third >= 128; third--) {
        const free = `10.89.${third}.0/24`;
        if (used.some((u) => cidrOverlap(u, free))) continue;
        r = engine.run([...base, '--subnet', free, '--gateway', gatewayFor(free) ?? '', engineName]);
        if (r.code === 0 || !/already used|overlap|in use/i.test(r.stderr)) break;
      }
    } else {
      r = engine.run([...base, engineName]);
    }
    if (!r || r.code !== 0) {
      const message = r ? engineMessage(r) : 'no free subnet';
      if (subnet && /overlap|already used/i.test(message)) {
        const other = usedSubnets(ctx).find((u) => cidrOverlap(u, subnet)) ?? subnet;
        fail('invalidArgument', `IPv4 subnet ${subnet} overlaps an existing network with subnet ${other}`);
      }
      if (/already exists/i.test(message)) fail('exists', `network ${name} already exists`);
      fail('internalError', `failed to create network ${name}`, message);
    }
    ctx.io.out(`${name}\n`);
    return 0;
  },
};

/** @type {Command} */
const list = {
  spec: { usage: 'container network list [--format <format>] [--quiet]', path: 'network list', options: [FORMAT_OPTION, QUIET_OPTION], positionals: [] },
  run(ctx, opts) {
    const format = requireFormat(opts.format);
    requireSystem(ctx);
    const networks = listNetworks(ctx);
    if (opts.quiet) {
      ctx.io.out(networks.map((n) => `${n.appleName}\n`).join(''));
      return 0;
    }
    if (format === 'json') {
      printJson(ctx, networks.map((n) => networkResource(ctx, n)));
      return 0;
    }
    const modern = ctx.release.has('tables.1x');
    const rows = networks.map((n) => {
      /** @type {{ ipv4Subnet?: string, address?: string }} */
      const status = networkResource(ctx, n).status;
      const subnet = status.ipv4Subnet ?? status.address ?? '';
      return modern ? [n.appleName, subnet] : [n.appleName, 'running', subnet];
    });
    ctx.io.out(renderTable([modern ? ['NETWORK', 'SUBNET'] : ['NETWORK', 'STATE', 'SUBNET'], ...rows]));
    return 0;
  },
};

/** @type {Command} */
const inspect = {
  spec: { usage: 'container network inspect <networks> ...', path: 'network inspect', options: [], positionals: [], rest: 'networks', minRest: 1 },
  run(ctx, opts) {
    const strict = ctx.release.has('inspect.strict');
    requireSystem(ctx);
    const found = [];
    const missing = [];
    for (const name of new Set(/** @type {string[]} */ (opts.rest))) {
      const n = findNetwork(ctx, name);
      if (n) found.push(networkResource(ctx, n));
      else missing.push(name);
    }
    if (missing.length && strict) fail('notFound', `network not found: ${missing.join(', ')}`);
    printJson(ctx, found, { pretty: strict });
    return 0;
  },
};

/** @type {Command} */
const del = {
  spec: {
    usage: 'container network delete [--all] [<network-names> ...]',
    path: 'network delete',
    options: [{ key: 'all', names: ['-a', '--all'], type: 'flag' }],
    positionals: [],
    rest: 'network-names',
  },
  run(ctx, opts) {
    if (opts.rest.length === 0 && !opts.all) fail('invalidArgument', 'no networks specified and --all not supplied');
    requireSystem(ctx);
    const networks = listNetworks(ctx);
    /** @type {string[]} */
    const names = opts.all ? networks.filter((n) => !n.builtin).map((n) => n.appleName) : [...new Set(opts.rest)];
    if (names.includes('default')) fail('invalidArgument', 'cannot delete a builtin network: default');
    const known = new Set(networks.map((n) => n.appleName));
    /** @type {import('../model/containers.mjs').ContainerRecord[] | undefined} */
    let records; // listed only after every name is known to exist
    deleteEach(ctx, {
      kind: 'networks',
      names,
      known: (name) => known.has(name),
      inUse: (name) => {
        const users = (records ??= listRecords(ctx)).filter((r) => r.stored.apple.networks.some((n) => n.network === name)).map((r) => r.id);
        return users.length ? `cannot delete subnet ${name} with referring containers: ${users.join(', ')}\n` : null;
      },
      remove: (name) => ctx.engine.run(['network', 'rm', engineNetworkName(ctx, name)]).code === 0,
    });
    return 0;
  },
};

/** @type {Command} */
const prune = {
  spec: { usage: 'container network prune', path: 'network prune', options: [], positionals: [] },
  run(ctx) {
    requireSystem(ctx);
    const records = listRecords(ctx);
    for (const n of listNetworks(ctx)) {
      if (n.builtin || records.some((r) => r.stored.apple.networks.some((a) => a.network === n.appleName))) continue;
      if (ctx.engine.run(['network', 'rm', n.name]).code === 0) ctx.io.out(`${n.appleName}\n`);
    }
    return 0;
  },
};

/** @type {import('./command.mjs').Group} */
export const NETWORK_GROUP = {
  group: 'network',
  since: 'network',
  // Emulating macOS 15 (CONTAINER_DOUBLE_MACOS=15): the word is an unknown plugin, as the research doc gives it.
  available: (ctx) => ctx.config.macos >= 26,
  aliases: { ls: 'list', rm: 'delete' },
  commands: { create, list, inspect, delete: del, prune },
};
