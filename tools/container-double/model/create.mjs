// @ts-check
// run/create: the options (Flags.swift), their parsing (Parser.swift) and the engine container
// that carries the resulting Apple configuration (§2.1.3).

import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_CPUS, DEFAULT_MEMORY, DEFAULT_MTU, DEFAULT_NET_ENGINE, LABEL, LABEL_CONFIG, LABEL_ID, LABEL_STATE, MIB } from '../core/config.mjs';
import { cz, fail, usageExit } from '../core/errors.mjs';
import { engineMessage } from '../core/engine.mjs';
import { isoNoFraction } from '../core/output.mjs';
import { engineContainerName, getRecord, inspectRecords, reap, UNLIMITED } from './containers.mjs';
import { imageDescriptor, imagePlatform, imageProcessConfig, pullFailureMessage, resolveImage } from './images.mjs';
import { engineNetworkName, ensureDefaultNetwork, findNetwork } from './networks.mjs';
import { createVolume, engineVolumeName, inspectVolume, volumeSource } from './volumes.mjs';

/** @typedef {import('../core/context.mjs').Ctx} Ctx */
/** @typedef {import('../core/system-state.mjs').SystemState} SystemState */
/** @typedef {import('../core/args.mjs').OptionSpec} OptionSpec */
/** @typedef {import('../core/args.mjs').Parsed} Parsed */
/** @typedef {import('./containers.mjs').AppleConfiguration} AppleConfiguration */
/** An engine mount. @typedef {{ type: 'bind' | 'volume' | 'tmpfs', source?: string, target: string, readonly: boolean, extra?: string[] }} EngineMount */
/** A mount as Apple records it and as the engine makes it. @typedef {{ json: AppleConfiguration['mounts'][number], engine: EngineMount }} Mount */

/** @param {string} v */
const UINT32 = (v) => /^\d+$/.test(v) && Number(v) <= 0xffffffff;

/** The process options of run, create and exec. @type {OptionSpec[]} */
export const PROCESS_OPTIONS = [
  { key: 'env', names: ['-e', '--env'], type: 'array', value: 'env' },
  { key: 'envFile', names: ['--env-file'], type: 'array', value: 'env-file' },
  { key: 'gid', names: ['--gid'], type: 'value', check: UINT32 },
  { key: 'interactive', names: ['-i', '--interactive'], type: 'flag' },
  { key: 'tty', names: ['-t', '--tty'], type: 'flag' },
  { key: 'user', names: ['-u', '--user'], type: 'value' },
  { key: 'uid', names: ['--uid'], type: 'value', check: UINT32 },
  { key: 'workdir', names: ['-w', '--workdir', '--cwd'], type: 'value', value: 'dir' },
  { key: 'ulimit', names: ['--ulimit'], type: 'array', since: 'create.ulimit' },
];

/** @type {OptionSpec[]} */
export const RUN_OPTIONS = [
  ...PROCESS_OPTIONS,
  { key: 'cpus', names: ['-c', '--cpus'], type: 'value', value: 'cpus', check: (v) => /^[+-]?\d+$/.test(v) },
  { key: 'memory', names: ['-m', '--memory'], type: 'value', value: 'memory' },
  { key: 'arch', names: ['-a', '--arch'], type: 'value' },
  { key: 'os', names: ['--os'], type: 'value' },
  { key: 'platform', names: ['--platform'], type: 'value', since: 'create.platform' },
  { key: 'capAdd', names: ['--cap-add'], type: 'array', since: 'create.cap-add' },
  { key: 'capDrop', names: ['--cap-drop'], type: 'array', since: 'create.cap-add' },
  { key: 'cidfile', names: ['--cidfile'], type: 'value' },
  { key: 'detach', names: ['-d', '--detach'], type: 'flag' },
  { key: 'dns', names: ['--dns'], type: 'array' },
  { key: 'dnsDomain', names: ['--dns-domain'], type: 'value' },
  { key: 'dnsOption', names: ['--dns-option'], type: 'array' },
  { key: 'dnsSearch', names: ['--dns-search'], type: 'array' },
  { key: 'noDns', names: ['--no-dns'], type: 'flag' },
  { key: 'entrypoint', names: ['--entrypoint'], type: 'value' },
  { key: 'init', names: ['--init'], type: 'flag', since: 'create.init' },
  { key: 'initImage', names: ['--init-image'], type: 'value', since: 'create.init-image' },
  { key: 'kernel', names: ['-k', '--kernel'], type: 'value' },
  { key: 'kernelArg', names: ['--kernel-arg'], type: 'array', since: 'create.kernel-arg' },
  { key: 'label', names: ['-l', '--label'], type: 'array' },
  { key: 'maskedPath', names: ['--masked-path'], type: 'array', since: 'create.masked-path' },
  { key: 'readOnlyPath', names: ['--read-only-path'], type: 'array', since: 'create.masked-path' },
  { key: 'mount', names: ['--mount'], type: 'array' },
  { key: 'name', names: ['--name'], type: 'value' },
  { key: 'network', names: ['--network'], type: 'array', since: 'create.network' },
  { key: 'publish', names: ['-p', '--publish'], type: 'array', since: 'create.publish' },
  { key: 'publishSocket', names: ['--publish-socket'], type: 'array', since: 'create.publish-socket' },
  { key: 'readOnly', names: ['--read-only'], type: 'flag', since: 'create.read-only' },
  { key: 'rm', names: ['--rm', '--remove'], type: 'flag' },
  { key: 'rosetta', names: ['--rosetta'], type: 'flag', since: 'create.rosetta' },
  { key: 'runtime', names: ['--runtime'], type: 'value', since: 'create.runtime' },
  { key: 'ssh', names: ['--ssh'], type: 'flag', since: 'create.ssh' },
  { key: 'shmSize', names: ['--shm-size'], type: 'value', since: 'create.shm-size' },
  { key: 'tmpfs', names: ['--tmpfs'], type: 'array' },
  { key: 'virtualization', names: ['--virtualization'], type: 'flag', since: 'create.virtualization' },
  { key: 'volume', names: ['-v', '--volume'], type: 'array' },
  { key: 'scheme', names: ['--scheme'], type: 'value', choices: ['http', 'https', 'auto'] },
  { key: 'maxConcurrentDownloads', names: ['--max-concurrent-downloads'], type: 'value', check: (v) => /^\d+$/.test(v) },
];

/** Image-fetch progress: `--progress` from its release on, `--disable-progress-updates` before it. @type {OptionSpec[]} */
export const PROGRESS_OPTIONS = [
  { key: 'progress', names: ['--progress'], type: 'value', since: 'create.progress', choices: ['auto', 'none', 'ansi', 'plain', 'color'] },
  { key: 'disableProgressUpdates', names: ['--disable-progress-updates'], type: 'flag', until: 'create.progress' },
];

const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/**
 * @param {Ctx} ctx
 * @param {string} id
 */
function validateName(ctx, id) {
  if (!ctx.release.has('create.name-validated')) return;
  if (!NAME_RE.test(id) || id.length > 63) fail('invalidArgument', `container ID ${id} is not a valid container ID`);
}

/** @param {string[]} values */
function parseLabels(values) {
  /** @type {Record<string, string>} */
  const labels = {};
  for (const value of values) {
    if (value === '') fail('invalidArgument', 'label cannot be an empty string');
    const parts = value.split('=');
    if (parts.length > 2) fail('invalidArgument', `invalid label format ${value}`);
    labels[parts[0] ?? ''] = parts[1] ?? '';
  }
  return labels;
}

/**
 * `--env-file` entries; a bare NAME takes the caller's value, when it has one.
 * @param {Ctx} ctx
 * @param {string[]} files
 */
export function envFromFiles(ctx, files) {
  const env = ctx.config.env;
  /** @type {string[]} */
  const entries = [];
  for (const file of files) {
    /** @type {string} */
    let text;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      return fail('invalidArgument', `failed to read env file ${file}`);
    }
    for (const rawLine of text.split(/\r?\n/)) {
      const line = rawLine.replace(/^\s+/, '');
      if (line === '' || line.startsWith('#')) continue;
      const eq = line.indexOf('=');
      const name = eq === -1 ? line : line.slice(0, eq);
      if (/\s/.test(name)) fail('invalidArgument', `variable '${name}' contains whitespaces`);
      if (eq === -1) {
        if (env[name] !== undefined) entries.push(`${name}=${env[name]}`);
      } else entries.push(line);
    }
  }
  return entries;
}

/**
 * `-e` entries; a bare NAME takes the caller's value, when it has one.
 * @param {Ctx} ctx
 * @param {string[]} values
 */
export function envFromFlags(ctx, values) {
  const env = ctx.config.env;
  /** @type {string[]} */
  const entries = [];
  for (const value of values) {
    if (value.includes('=')) entries.push(value);
    else if (env[value] !== undefined) entries.push(`${value}=${env[value]}`);
  }
  return entries;
}

/**
 * Image env, then --env-file, then -e, de-duplicated by key (later wins).
 * @param {...string[]} lists
 */
export function mergeEnv(...lists) {
  /** @type {Map<string, string>} */
  const map = new Map();
  for (const list of lists) {
    for (const entry of list) {
      const eq = entry.indexOf('=');
      const key = eq === -1 ? entry : entry.slice(0, eq);
      map.set(key, entry);
    }
  }
  return [...map.values()];
}

/**
 * Measurement.parse: binary units b/k/m/g/t/p with optional b or ib; a bare number is bytes.
 * @param {string} text
 */
export function parseMemory(text) {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([bkmgtp])?(b|ib)?\s*$/i.exec(text);
  if (!m) return fail('invalidArgument', `invalid size ${text}`);
  const powers = /** @type {Record<string, number>} */ ({ b: 0, k: 1, m: 2, g: 3, t: 4, p: 5 });
  return Number(m[1]) * 1024 ** (powers[(m[2] ?? 'b').toLowerCase()] ?? 0);
}

const RLIMITS = ['core', 'cpu', 'data', 'fsize', 'locks', 'memlock', 'msgqueue', 'nice', 'nofile', 'nproc', 'rss', 'rtprio', 'rttime', 'sigpending', 'stack'];

/** @param {string[]} values */
function parseUlimits(values) {
  return values.map((value) => {
    const m = /^([a-z]+)=(-?\w+)(?::(-?\w+))?$/.exec(value);
    if (!m || !m[1] || !m[2] || !RLIMITS.includes(m[1])) return fail('invalidArgument', `invalid ulimit ${value}`);
    /** @param {string} s */
    const num = (s) => (s === 'unlimited' || s === '-1' ? UNLIMITED : Number(s));
    const soft = num(m[2]);
    const hard = m[3] === undefined ? soft : num(m[3]);
    if (Number.isNaN(Number(soft === UNLIMITED ? 0 : soft)) || Number.isNaN(Number(hard === UNLIMITED ? 0 : hard))) fail('invalidArgument', `invalid ulimit ${value}`);
    return { json: { limit: `RLIMIT_${m[1].toUpperCase()}`, soft, hard }, engine: `${m[1]}=${soft === UNLIMITED ? -1 : soft}:${hard === UNLIMITED ? -1 : hard}` };
  });
}

/** @param {string} cap */
function normalizeCap(cap) {
  const upper = cap.toUpperCase();
  if (upper === 'ALL') return 'ALL';
  return upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
}

/**
 * CONTAINER_DOUBLE_GUEST_KERNEL=6.12.28: the default kernel of 0.1 to 0.8 (vmlinux-6.12.28-153,
 * DefaultsStore.swift@0.8.0 line 184), kept by `system start` on upgrade. Its config has IPv4
 * iptables but neither IP6_NF_IPTABLES nor NF_TABLES: the double shadows ip6tables (first on PATH,
 * /usr/local/sbin) with what a legacy ip6tables says there. The host kernel underneath is unchanged.
 * @param {Ctx} ctx
 */
function oldKernelShims(ctx) {
  const dir = path.join(ctx.config.stateDir, 'kernel-6.12.28-bin');
  fs.mkdirSync(dir, { recursive: true });
  const shim = path.join(dir, 'ip6tables');
  fs.writeFileSync(
    shim,
    "#!/bin/sh\necho \"ip6tables v1.8.9 (legacy): can't initialize ip6tables table \\`filter': Table does not exist (do you need to insmod?)\" >&2\necho 'Perhaps ip6tables or your kernel needs to be upgraded.' >&2\nexit 3\n",
    { mode: 0o755 },
  );
  return dir;
}

/** LinuxCapabilities.defaultOCICapabilities (apple/containerization LinuxProcessConfiguration.swift@0.31.0 line 274). */
const OCI_DEFAULT_CAPABILITIES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
];

/**
 * What a container's processes start with (version-gates.json `capabilities.oci-default`). From
 * 0.12, SandboxService.effectiveCapabilities: the OCI default set (empty with --cap-drop ALL), then
 * --cap-add (ALL: every capability), then --cap-drop. Before 0.12 every process had all of them;
 * on a kernel shared with the host the double grants the OCI set plus CAP_NET_ADMIN, the one that
 * tells the releases apart for Berth (iptables in the guest), rather than SYS_ADMIN and the rest.
 * @param {Ctx} ctx
 * @param {string[]} capAdd
 * @param {string[]} capDrop
 */
function effectiveCapabilities(ctx, capAdd, capDrop) {
  if (!ctx.release.has('capabilities.oci-default')) return [...OCI_DEFAULT_CAPABILITIES, 'CAP_NET_ADMIN'];
  if (capAdd.includes('ALL')) return ['ALL'];
  const caps = new Set(capDrop.includes('ALL') ? [] : OCI_DEFAULT_CAPABILITIES);
  for (const c of capAdd) caps.add(c);
  for (const c of capDrop) caps.delete(c);
  return [...caps];
}

/**
 * @param {Ctx} ctx
 * @param {string[]} values
 */
function parsePublish(ctx, values) {
  if (ctx.release.has('create.publish-limit') && values.length > 64) fail('invalidArgument', 'cannot exceed more than 64 port publish descriptors');
  /** @type {AppleConfiguration['publishedPorts']} */
  const ports = [];
  /**
   * @param {string} text
   * @param {string} what
   * @param {string} whole
   */
  const range = (text, what, whole) => {
    const [a = '', b] = text.split('-');
    const start = Number(a);
    const end = b === undefined ? start : Number(b);
    if (!/^\d+$/.test(a) || (b !== undefined && !/^\d+$/.test(b)) || start <= 1 || end > 65535 || end < start) {
      fail('invalidArgument', `invalid publish ${what} port: ${whole}`);
    }
    return { start, count: end - start + 1 };
  };
  for (const value of values) {
    const m = /^(?:(\[[0-9a-fA-F:.]+\]|\d{1,3}(?:\.\d{1,3}){3}):)?([^:/]+):([^:/]+)(?:\/([A-Za-z]+))?$/.exec(value);
    if (!m || m[2] === undefined || m[3] === undefined) return fail('invalidArgument', `invalid publish value: ${value}`);
    const hostAddress = m[1] ? m[1].replace(/^\[|\]$/g, '') : '0.0.0.0';
    const host = range(m[2], 'host', value);
    const container = range(m[3], 'container', value);
    if (host.count !== container.count) fail('invalidArgument', `invalid publish value: ${value}`);
    const proto = (m[4] ?? 'tcp').toLowerCase();
    if (proto !== 'tcp' && proto !== 'udp') fail('invalidArgument', `invalid publish value: ${value}`);
    for (const other of ports) {
      if (other.proto === proto && host.start <= other.hostPort + other.count - 1 && other.hostPort <= host.start + host.count - 1) {
        fail('invalidArgument', 'host ports for different publish port specs may not overlap');
      }
    }
    ports.push({ hostAddress, hostPort: host.start, containerPort: container.start, proto, count: host.count });
  }
  return ports;
}

/** A locally administered MAC, as vmnet hands them out. */
function randomMac() {
  const bytes = randomBytes(6);
  bytes[0] = /** @type {number} */ ([0xf2, 0xf6, 0xfa, 0xfe][(bytes[0] ?? 0) % 4]);
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/**
 * @param {Ctx} ctx
 * @param {string[]} values
 * @returns {{ name: string, mac: string | undefined, mtu: number | undefined }[]}
 */
function parseNetworkFlags(ctx, values) {
  if (values.length === 0) return [{ name: 'default', mac: undefined, mtu: undefined }];
  const parsed = values.map((value) => {
    const [name = '', ...props] = value.split(',');
    /** @type {{ name: string, mac: string | undefined, mtu: number | undefined }} */
    const net = { name, mac: undefined, mtu: undefined };
    for (const prop of props) {
      const [k, v] = prop.split('=');
      if (k === 'mac' && ctx.release.has('network.mac')) {
        if (!/^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/.test(v ?? '')) fail('invalidArgument', `invalid MAC address: ${v}`);
        net.mac = (v ?? '').toLowerCase();
      } else if (k === 'mtu' && ctx.release.has('network.mtu')) {
        const mtu = Number(v);
        if (!Number.isInteger(mtu) || mtu < 1280 || mtu > 65535) fail('invalidArgument', `invalid MTU ${v}: must be between 1280 and 65535`);
        net.mtu = mtu;
      } else fail('invalidArgument', `invalid network property ${prop}`);
    }
    return net;
  });
  if (parsed.some((n) => n.name === 'none')) {
    if (parsed.length > 1) fail('invalidArgument', 'no other networks may be created along with network none');
    return [];
  }
  return parsed;
}

/**
 * -v forms (§2.1.1): anonymous volume, bind mount (virtiofs) or named volume.
 * @param {Ctx} ctx
 * @param {string} value
 * @param {SystemState} sys
 * @param {string[]} warnings
 * @returns {Mount}
 */
function parseVolumeFlag(ctx, value, sys, warnings) {
  const parts = value.split(':');
  const [src = '', dst, opts] = parts;
  if (parts.length === 1) {
    if (!src.startsWith('/')) fail('invalidArgument', `invalid volume ${value}`);
    return anonymousVolumeMount(ctx, sys, src, []);
  }
  if (parts.length > 3 || !dst) return fail('invalidArgument', `invalid volume ${value}`);
  const options = opts ? opts.split(',').filter(Boolean) : [];
  if (src.includes('/') || src === '.' || src === '..') {
    if (!fs.existsSync(src)) fail('invalidArgument', `path '${src}' does not exist`);
    return { json: { type: { virtiofs: {} }, source: path.resolve(src), destination: dst, options }, engine: { type: 'bind', source: path.resolve(src), target: dst, readonly: options.includes('ro') } };
  }
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(src)) fail('invalidArgument', `invalid volume name ${src}`);
  if (!inspectVolume(ctx, src)) {
    createVolume(ctx, src, { creationMs: Date.now(), labels: {}, options: {} });
    warnings.push('named volume was automatically created');
  }
  return volumeMount(ctx, sys, src, dst, options);
}

/**
 * @param {Ctx} ctx
 * @param {SystemState} sys
 * @param {string} name
 * @param {string} dst
 * @param {string[]} options
 * @returns {Mount}
 */
function volumeMount(ctx, sys, name, dst, options) {
  return {
    json: { type: { volume: { name, format: 'ext4', cache: { on: {} }, sync: { fsync: {} } } }, source: volumeSource(ctx, sys, name), destination: dst, options },
    engine: { type: 'volume', source: engineVolumeName(ctx, name), target: dst, readonly: options.includes('ro') },
  };
}

/**
 * @param {Ctx} ctx
 * @param {SystemState} sys
 * @param {string} dst
 * @param {string[]} options
 */
function anonymousVolumeMount(ctx, sys, dst, options) {
  const name = randomUUID();
  createVolume(ctx, name, { creationMs: Date.now(), labels: { 'com.apple.container.resource.anonymous': '' }, options: {} });
  return volumeMount(ctx, sys, name, dst, options);
}

/**
 * --mount type=…,source=…,target=…[,readonly] (§2.1.1).
 * @param {Ctx} ctx
 * @param {string} spec
 * @param {SystemState} sys
 * @returns {Mount}
 */
function parseMountFlag(ctx, spec, sys) {
  /** @type {string | undefined} */
  let type = 'virtiofs';
  /** @type {string | undefined} */
  let source;
  /** @type {string | undefined} */
  let destination;
  let readonly = false;
  /** @type {string[]} */
  const tmpfsOptions = [];
  for (const item of spec.split(',')) {
    if (item === '') continue;
    const eq = item.indexOf('=');
    const key = eq === -1 ? item : item.slice(0, eq);
    const value = eq === -1 ? undefined : item.slice(eq + 1);
    if (key === 'type') type = value;
    else if (key === 'source' || key === 'src') source = value;
    else if (key === 'target' || key === 'destination' || key === 'dst') destination = value;
    else if (key === 'readonly' || key === 'ro') readonly = true;
    else if (key === 'size' || key === 'mode') tmpfsOptions.push(`${key}=${value}`);
    else fail('invalidArgument', `unknown directive ${key} when parsing mount ${spec}`);
  }
  if (!destination) return fail('invalidArgument', 'mount destination cannot be empty');
  const options = readonly ? ['ro'] : [];
  if (type === 'bind' || type === 'virtiofs') {
    const abs = path.resolve(source ?? '');
    let isDir = false;
    try {
      isDir = fs.statSync(abs).isDirectory();
    } catch {
      isDir = false;
    }
    if (!source || !isDir) fail('invalidArgument', `path '${source ?? ''}' is not a directory`);
    return { json: { type: { virtiofs: {} }, source: abs, destination, options }, engine: { type: 'bind', source: abs, target: destination, readonly } };
  }
  if (type === 'tmpfs') {
    return { json: { type: { tmpfs: {} }, source: 'tmpfs', destination, options: [...options, ...tmpfsOptions] }, engine: { type: 'tmpfs', target: destination, readonly, extra: tmpfsOptions } };
  }
  if (type === 'volume') {
    if (!source) return anonymousVolumeMount(ctx, sys, destination, options);
    if (!inspectVolume(ctx, source)) createVolume(ctx, source, { creationMs: Date.now(), labels: {}, options: {} });
    return volumeMount(ctx, sys, source, destination, options);
  }
  return fail('invalidArgument', `unsupported mount type ${type}`);
}

/** @param {EngineMount} m */
function engineMountArg(m) {
  if (m.type === 'tmpfs') {
    const extra = (m.extra ?? []).map((o) => o.replace(/^size=/, 'tmpfs-size=').replace(/^mode=/, 'tmpfs-mode='));
    return ['--mount', ['type=tmpfs', `destination=${m.target}`, ...(m.readonly ? ['readonly'] : []), ...extra].join(',')];
  }
  return ['--mount', [`type=${m.type}`, `source=${m.source}`, `destination=${m.target}`, ...(m.readonly ? ['readonly'] : [])].join(',')];
}

/**
 * @param {Parsed} opts
 * @param {{ User?: string }} image
 * @returns {{ json: Record<string, any>, engine: string | undefined }}
 */
function parseUser(opts, image) {
  if (opts.user !== undefined) return { json: { raw: { userString: opts.user } }, engine: opts.user };
  if (opts.uid !== undefined || opts.gid !== undefined) {
    const uid = Number(opts.uid ?? 0);
    const gid = Number(opts.gid ?? 0);
    return { json: { id: { uid, gid } }, engine: `${uid}:${gid}` };
  }
  if (image.User) return { json: { raw: { userString: image.User } }, engine: undefined };
  return { json: { id: { uid: 0, gid: 0 } }, engine: undefined };
}

/**
 * run/create steps 2 to 9 of §2.1.3: the Apple configuration, then the engine container carrying it.
 * @param {Ctx} ctx
 * @param {Parsed} opts
 * @param {'run' | 'create'} mode
 * @param {SystemState} sys
 */
export function createContainer(ctx, opts, mode, sys) {
  const { config, release, engine } = ctx;
  /** @type {string} */
  const id = opts.name ?? randomUUID();
  validateName(ctx, id);
  if (mode === 'run' && getRecord(ctx, id)) fail('exists', `container with id ${id} already exists`);

  const ref = /** @type {string} */ (opts._[0]);
  const image = resolveImage(ctx, ref);
  if (!image) return fail('internalError', pullFailureMessage(ref));
  const imageConfig = imageProcessConfig(image.info);

  // Process
  const env = mergeEnv(imageConfig.Env ?? [], envFromFiles(ctx, opts.envFile), envFromFlags(ctx, opts.env));
  let entrypoint = imageConfig.Entrypoint ?? [];
  let cmd = opts.rest.length > 0 ? opts.rest : (imageConfig.Cmd ?? []);
  if (opts.entrypoint) {
    entrypoint = [opts.entrypoint];
    cmd = opts.rest;
  }
  const argv = [...entrypoint, ...cmd];
  const executable = argv[0];
  if (executable === undefined) return fail('invalidArgument', 'command/entrypoint not specified for container process');
  const user = parseUser(opts, imageConfig);
  /** @type {string} */
  const workdir = opts.workdir ?? imageConfig.WorkingDir ?? '/';
  const ulimits = parseUlimits(opts.ulimit);

  // Management
  const labels = parseLabels(opts.label);
  /** @type {string[]} */
  const warnings = [];
  /** @type {Mount[]} */
  const mounts = [
    ...opts.volume.map((/** @type {string} */ v) => parseVolumeFlag(ctx, v, sys, warnings)),
    ...opts.mount.map((/** @type {string} */ m) => parseMountFlag(ctx, m, sys)),
    ...opts.tmpfs.map((/** @type {string} */ t) => ({ json: { type: { tmpfs: {} }, source: 'tmpfs', destination: t, options: [] }, engine: { type: 'tmpfs', target: t, readonly: false, extra: [] } })),
  ];
  for (const w of warnings) ctx.io.err(`${w}\n`);
  const ports = parsePublish(ctx, opts.publish);
  const sockets = opts.publishSocket.map((/** @type {string} */ s) => {
    const [hostPath, containerPath] = s.split(':');
    if (!hostPath || !containerPath) return fail('invalidArgument', `invalid publish socket value: ${s}`);
    return { hostPath: path.resolve(hostPath), containerPath };
  });
  if (opts.noDns && (opts.dns.length || opts.dnsDomain || opts.dnsOption.length || opts.dnsSearch.length)) {
    throw usageExit('`--no-dns` cannot be used with DNS configuration flags (`--dns`, `--dns-domain`, `--dns-option`, `--dns-search`)', `container ${mode} [<options>] <image> [<arguments> ...]`, mode);
  }
  /** @type {string | undefined} */
  const domain = opts.dnsDomain ?? config.dnsDomain;
  const networkFlags = parseNetworkFlags(ctx, opts.network);
  const networks = [];
  for (const [i, n] of networkFlags.entries()) {
    if (n.name !== 'default' && config.macos < 26) fail('unsupported', 'non-default network configuration requires macOS 26 or newer');
    const found = n.name === 'default' ? { appleName: 'default' } : findNetwork(ctx, n.name);
    if (!found) fail('notFound', `network ${n.name} not found`);
    const hostname = i > 0 ? id : domain ? `${id}.${domain}.` : id.includes('.') ? `${id}.` : id;
    networks.push({ apple: { network: n.name, options: { hostname, macAddress: n.mac, mtu: n.mtu ?? DEFAULT_MTU } }, engine: engineNetworkName(ctx, n.name), mac: n.mac ?? randomMac() });
  }

  // Resources
  const cpus = opts.cpus !== undefined ? Number(opts.cpus) : DEFAULT_CPUS;
  const memory = opts.memory !== undefined ? Math.floor(parseMemory(opts.memory) / MIB) * MIB : DEFAULT_MEMORY;
  let platform = imagePlatform(image.info);
  if (opts.platform) {
    const [pos = '', parch = '', pvariant] = opts.platform.split('/');
    platform = { os: pos, architecture: parch, variant: pvariant };
  } else if (opts.arch || opts.os) platform = { os: opts.os ?? platform.os, architecture: opts.arch ?? platform.architecture, variant: undefined };
  const shmSize = opts.shmSize !== undefined ? Math.floor(parseMemory(opts.shmSize)) : undefined;

  /** @type {AppleConfiguration} */
  const apple = {
    id,
    image: { reference: image.reference, descriptor: imageDescriptor(ctx, image.info) },
    mounts: mounts.map((m) => m.json),
    publishedPorts: ports,
    publishedSockets: sockets,
    labels,
    sysctls: {},
    networks: networks.map((n) => n.apple),
    dns: opts.noDns ? undefined : { nameservers: opts.dns, domain, searchDomains: opts.dnsSearch, options: opts.dnsOption },
    rosetta: opts.rosetta === true,
    initProcess: {
      executable,
      arguments: argv.slice(1),
      environment: env,
      workingDirectory: workdir,
      terminal: opts.tty === true,
      user: user.json,
      supplementalGroups: [],
      rlimits: ulimits.map((u) => u.json),
    },
    platform,
    resources: { cpus, memoryInBytes: memory, cpuOverhead: 1 },
    runtimeHandler: opts.runtime ?? 'container-runtime-linux',
    virtualization: opts.virtualization === true,
    ssh: opts.ssh === true,
    readOnly: opts.readOnly === true,
    useInit: opts.init === true,
    capAdd: opts.capAdd.map(normalizeCap),
    capDrop: opts.capDrop.map(normalizeCap),
    shmSize,
    stopSignal: imageConfig.StopSignal,
    maskedPaths: opts.maskedPath.length ? opts.maskedPath : undefined,
    readonlyPaths: opts.readOnlyPath.length ? opts.readOnlyPath : undefined,
    creationDate: isoNoFraction(Date.now()),
  };

  // Server side (ContainersService.create): duplicate ID, then the memory minimum.
  if (mode === 'create' && getRecord(ctx, id)) fail('exists', `container already exists: ${id}`);
  if (release.has('create.memory-minimum') && memory < 200 * MIB) fail('invalidArgument', `minimum memory amount allowed is 200 MiB (got ${memory} bytes)`);

  const stored = { apple, x: { autoRemove: opts.rm === true, engineNetworks: networks.map((n) => n.engine), macs: networks.map((n) => n.mac) } };
  const name = engineContainerName(ctx, id);
  const args = ['create', '--name', name];
  args.push('--label', `${LABEL}=1`, '--label', `${LABEL_STATE}=${config.hash}`, '--label', `${LABEL_ID}=${id}`, '--label', `${LABEL_CONFIG}=${JSON.stringify(stored)}`);
  args.push('--hostname', (networks[0]?.apple.options.hostname ?? id).split('.')[0] || id);
  if (opts.interactive) args.push('-i');
  if (opts.tty) args.push('-t');
  if (opts.init) args.push('--init');
  if (opts.rm) args.push('--rm');
  if (opts.readOnly) args.push('--read-only');
  args.push('-w', workdir);
  if (user.engine) args.push('-u', user.engine);
  for (const e of env) args.push('-e', e);
  for (const m of mounts) args.push(...engineMountArg(m.engine));
  if (config.oldGuestKernel) args.push('-v', `${oldKernelShims(ctx)}:/usr/local/sbin:ro`);
  for (const p of ports) {
    const host = p.hostAddress.includes(':') ? `[${p.hostAddress}]` : p.hostAddress;
    const hp = p.count > 1 ? `${p.hostPort}-${p.hostPort + p.count - 1}` : `${p.hostPort}`;
    const cp = p.count > 1 ? `${p.containerPort}-${p.containerPort + p.count - 1}` : `${p.containerPort}`;
    args.push('-p', `${host}:${hp}:${cp}/${p.proto}`);
  }
  const [first, ...others] = networks;
  if (!first) args.push('--network', 'none');
  else if (config.isDocker) args.push('--network', first.engine);
  else for (const n of networks) args.push('--network', `${n.engine}:mac=${n.mac}`);
  // The capability set of the container's processes (main and exec'd), from nothing up.
  args.push('--cap-drop', 'ALL');
  for (const c of effectiveCapabilities(ctx, apple.capAdd, apple.capDrop)) args.push('--cap-add', c);
  for (const u of ulimits) args.push('--ulimit', u.engine);
  if (shmSize !== undefined) args.push('--shm-size', `${shmSize}b`);
  for (const d of opts.dns) args.push('--dns', d);
  for (const d of opts.dnsSearch) args.push('--dns-search', d);
  for (const d of opts.dnsOption) args.push('--dns-option', d);
  if (config.enforceResources) args.push('--cpus', String(Math.min(cpus, os.cpus().length)), '--memory', `${memory}b`);
  args.push('--entrypoint', config.isDocker ? executable : JSON.stringify([executable]));
  args.push(image.engineRef, ...argv.slice(1));

  let r = engine.run(args);
  if (r.code !== 0 && /no such network|network not found|unable to find network|not found/i.test(r.stderr) && networks.some((n) => n.engine === DEFAULT_NET_ENGINE)) {
    ensureDefaultNetwork(ctx);
    r = engine.run(args);
  }
  if (r.code !== 0 && /already in use|already exists/i.test(r.stderr)) {
    // A --rm container whose process exited is gone for Apple; its engine remains may linger.
    const leftover = inspectRecords(ctx, [name])[0];
    if (leftover?.hidden) {
      reap(ctx, leftover);
      r = engine.run(args);
    } else {
      fail('exists', mode === 'run' ? `container with id ${id} already exists` : `container already exists: ${id}`);
    }
  }
  if (r.code !== 0) fail('internalError', `failed to create container ${id}`, cz('internalError', engineMessage(r)));
  if (config.isDocker) {
    for (const n of others) {
      const c = engine.run(['network', 'connect', n.engine, name]);
      if (c.code !== 0) {
        engine.run(['rm', '-f', name]);
        fail('internalError', `failed to create container ${id}`, cz('internalError', engineMessage(c)));
      }
    }
  }
  if (opts.cidfile) fs.writeFileSync(opts.cidfile, id, { mode: 0o644 });
  return { id, stored };
}
