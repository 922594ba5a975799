#!/usr/bin/env node
// A test double of Apple's `container` CLI for Linux. It follows the spec in
// shared research (apple-container.md) and runs real containers with podman or docker underneath.
// See README.md next to this file for what it emulates and what it does not.
//
// Rules kept throughout: the engine is only ever spawned with argument arrays (never a shell), the
// double only touches engine objects carrying its label and its state-directory hash, and every
// text printed is the one the spec gives for the emulated version.

// eslint-disable-next-line no-restricted-imports -- a standalone executable that drives the engine CLI; argument arrays only, never a shell
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// ---------------------------------------------------------------------------------------------
// Configuration

const ENV = process.env;
const ENGINE = ENV.CONTAINER_DOUBLE_ENGINE || 'podman';
const IS_DOCKER = path.basename(ENGINE).includes('docker');
const VERSION = ENV.CONTAINER_DOUBLE_VERSION || '1.2.2';
const VERSION_PARTS = parseVersion(VERSION);
const MACOS = Number.parseInt(ENV.CONTAINER_DOUBLE_MACOS || '26', 10);
const STATE_DIR = path.resolve(ENV.CONTAINER_DOUBLE_STATE || '/var/tmp/berth-container-double');
const HASH = createHash('sha256').update(STATE_DIR).digest('hex').slice(0, 8);
const LABEL = 'dev.berth.container-double';
const LABEL_STATE = `${LABEL}.state`;
const LABEL_ID = `${LABEL}.id`;
const LABEL_CONFIG = `${LABEL}.config`;
const LABEL_ROLE = `${LABEL}.role`;
const PREFIX = `acd-${HASH}-`;
const DEFAULT_NET_ENGINE = 'acd-default';
const COMMIT = createHash('sha1').update(`apple/container ${VERSION}`).digest('hex');
const SHORT_COMMIT = COMMIT.slice(0, 7);
const MIB = 1024 * 1024;
const DEFAULT_CPUS = 4;
const DEFAULT_MEMORY = 1024 * MIB;
const DEFAULT_MTU = 1280;
const APPLE_EPOCH_MS = Date.UTC(2001, 0, 1);
const XPC = 'XPC connection error: Connection invalid';
const HINT = 'Ensure container system service has been started with `container system start`.';
const KERNEL_URL =
  'https://github.com/kata-containers/kata-containers/releases/download/3.17.0/kata-static-3.17.0-arm64.tar.xz';

/**
 * Berth's table of first releases (src/runtime/apple/version-gates.json, each row with its source
 * citation): every option Berth passes is gated here by the same row, so an option below its gate
 * is an unknown option (exit 64), as ArgumentParser makes it.
 */
const GATES = JSON.parse(fs.readFileSync(new URL('../../src/runtime/apple/version-gates.json', import.meta.url), 'utf8'));

/** The first release of a row of the table. */
function gate(id) {
  const row = GATES.flags.find((g) => g.id === id) ?? GATES.behaviours.find((g) => g.id === id);
  if (!row) throw new Error(`container-double: no version gate ${id}`);
  return row.since;
}

function parseVersion(text) {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(text);
  if (!m) return [1, 2, 2];
  return [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
}

/** True when the emulated version is at least `text` (for example '1.0.0'). */
function atLeast(text) {
  const want = parseVersion(text);
  for (let i = 0; i < 3; i++) {
    if (VERSION_PARTS[i] !== want[i]) return VERSION_PARTS[i] > want[i];
  }
  return true;
}

const MODERN = atLeast('1.0.0');
/** 0.10 and later use containerization >= 0.26, whose errors print their description only. */
const LOCALIZED = atLeast('0.10.0');

// ---------------------------------------------------------------------------------------------
// Errors

/** Ends the command: stderr text, exit code, optional stdout already produced. */
class Exit extends Error {
  constructor(code, stderr = '') {
    super(stderr);
    this.exitCode = code;
    this.stderr = stderr;
  }
}

/** A ContainerizationError: code, message and an optional cause (another cz error or a string). */
function cz(code, message, cause) {
  return { code, message, cause };
}

/** `String(describing:)` of a ContainerizationError: `code: "message"` plus the cause. */
function describe(error) {
  if (typeof error === 'string') return error;
  return `${error.code}: "${error.message}"${error.cause ? ` (cause: "${describe(error.cause)}")` : ''}`;
}

/** errorDescription (LocalizedError, 0.10 and later): the message plus the described cause. */
function localized(error) {
  if (typeof error === 'string') return error;
  return `${error.message}${error.cause ? ` (cause: "${describe(error.cause)}")` : ''}`;
}

/** How Application.exit prints a single error for the emulated version. */
function topLevel(error) {
  return `Error: ${LOCALIZED ? localized(error) : describe(error)}\n`;
}

function fail(code, message, cause) {
  throw new Exit(1, topLevel(cz(code, message, cause)));
}

/** AggregateError: one described error per line, only the first with `Error: `. */
function aggregate(errors) {
  return `Error: ${errors.map(describe).join('\n')}\n`;
}

/** Swift's description of an array of strings: ["a", "b"]. */
function swiftArray(items) {
  return `[${items.map((s) => `"${s}"`).join(', ')}]`;
}

/** The "system not started" failure of §4.2, per command kind and version. */
function xpcFailure(kind) {
  const listInner = `internalError: "failed to list containers" (cause: "interrupted: "${XPC}"")`;
  if (LOCALIZED) {
    if (kind === 'list') return new Exit(1, `Error: ${listInner}\n${HINT}\n`);
    return new Exit(1, `Error: interrupted: "${XPC}"\n${HINT}\n`);
  }
  const inner = kind === 'list' ? listInner : XPC;
  if (atLeast('0.2.0')) return new Exit(1, `Error: interrupted: "${inner}\n${HINT}"\n`);
  return new Exit(1, `Error: interrupted: "${inner}"\n`);
}

function usageExit(message, usage, commandPath) {
  const see = `  See 'container${commandPath ? ` ${commandPath}` : ''} --help' for more information.`;
  return new Exit(64, `Error: ${message}\nUsage: ${usage}\n${see}\n`);
}

/**
 * An unknown top-level word is a plugin name (DefaultCommand.swift@0.9.0 line 84, @1.2.2 line 87):
 * a ValidationError whose text also names `container system start`. The plugin folders are the
 * double's stand-ins for the user's and the install root's.
 */
function pluginNotFound(word) {
  const message = [
    `Plugin 'container-${word}' not found.`,
    '',
    '- If system services are not running, start them with: container system start',
    "- If the plugin isn't installed, ensure it exists under:",
    '',
    'Check to see that the plugin exists under:',
    `  - ${path.join(os.homedir(), 'Library/Application Support/com.apple.container/plugins', word)}`,
    `  - /usr/local/libexec/container/plugins/${word}`,
    '',
  ].join('\n');
  return usageExit(message, 'container [--debug] <subcommand>', '');
}

function notEmulated(what) {
  return new Exit(1, `Error: container-double: ${what} is not emulated (see tools/container-double/README.md)\n`);
}

// ---------------------------------------------------------------------------------------------
// Output: Swift JSONEncoder and the table renderer

function byteCompare(a, b) {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function shuffled(items) {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

function jsonString(text) {
  return JSON.stringify(text).replace(/\//g, '\\/');
}

/**
 * Swift JSONEncoder output (§3.1): `/` escaped, nil omitted, sorted keys (1.x) or unordered keys
 * (0.x, shuffled per process), pretty form with two-space indent and `"key" : value`.
 */
function encodeJson(value, { pretty = false, sorted = MODERN } = {}) {
  const keysOf = (obj) => {
    const keys = Object.keys(obj).filter((k) => obj[k] !== undefined);
    return sorted ? keys.sort(byteCompare) : shuffled(keys);
  };
  const enc = (v, indent) => {
    if (v === null || v === undefined) return 'null';
    if (typeof v === 'string') return jsonString(v);
    if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '0';
    if (typeof v === 'bigint') return v.toString();
    if (typeof v === 'boolean') return v ? 'true' : 'false';
    const inner = `${indent}  `;
    if (Array.isArray(v)) {
      if (v.length === 0) return pretty ? `[\n\n${indent}]` : '[]';
      if (!pretty) return `[${v.map((x) => enc(x, inner)).join(',')}]`;
      return `[\n${v.map((x) => inner + enc(x, inner)).join(',\n')}\n${indent}]`;
    }
    const keys = keysOf(v);
    if (keys.length === 0) return pretty ? `{\n\n${indent}}` : '{}';
    if (!pretty) return `{${keys.map((k) => `${jsonString(k)}:${enc(v[k], inner)}`).join(',')}}`;
    return `{\n${keys.map((k) => `${inner}${jsonString(k)} : ${enc(v[k], inner)}`).join(',\n')}\n${indent}}`;
  };
  return enc(value, '');
}

/** Columns padded to the widest cell plus 2, the last one unpadded; one trailing newline (§3.2). */
function renderTable(rows) {
  const columns = rows[0].length;
  const widths = [];
  for (let c = 0; c < columns - 1; c++) widths[c] = Math.max(...rows.map((r) => String(r[c] ?? '').length)) + 2;
  return `${rows.map((r) => r.map((cell, c) => (c < columns - 1 ? String(cell ?? '').padEnd(widths[c]) : String(cell ?? ''))).join('')).join('\n')}\n`;
}

/** A date as the emulated version encodes it: ISO 8601 without fractions (1.x) or seconds since 2001 (0.x). */
function encodeDate(ms) {
  if (MODERN) return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
  return (ms - APPLE_EPOCH_MS) / 1000;
}

function isoNoFraction(ms) {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

let stdoutBuffer = '';
function out(text) {
  stdoutBuffer += text;
}
function flushOut() {
  if (stdoutBuffer) {
    fs.writeSync(1, stdoutBuffer);
    stdoutBuffer = '';
  }
}
function err(text) {
  flushOut();
  fs.writeSync(2, text);
}

// ---------------------------------------------------------------------------------------------
// The engine

function engine(args, options = {}) {
  const result = spawnSync(ENGINE, args, {
    encoding: 'utf8',
    env: ENV,
    maxBuffer: 512 * MIB,
    input: options.input,
    stdio: options.stdio,
  });
  if (result.error) throw new Exit(1, `Error: container-double: cannot run ${ENGINE}: ${result.error.message}\n`);
  return { code: result.status ?? 1, stdout: result.stdout ?? '', stderr: result.stderr ?? '' };
}

function engineAsync(args) {
  return new Promise((resolve) => {
    const child = spawn(ENGINE, args, { env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    child.on('error', (e) => resolve({ code: 1, stdout, stderr: stderr + e.message }));
    child.on('close', (code, signal) => resolve({ code: code ?? 128 + (os.constants.signals[signal] ?? 1), stdout, stderr }));
  });
}

/** Runs the engine attached to our stdio and resolves to its exit code; forwards TERM/INT/HUP. */
function engineAttached(args, stdio) {
  flushOut();
  return new Promise((resolve) => {
    const child = spawn(ENGINE, args, { env: ENV, stdio });
    const forward = (sig) => () => child.kill(sig);
    const handlers = ['SIGTERM', 'SIGINT', 'SIGHUP'].map((sig) => [sig, forward(sig)]);
    for (const [sig, h] of handlers) process.on(sig, h);
    child.on('error', (e) => {
      err(`Error: container-double: cannot run ${ENGINE}: ${e.message}\n`);
      resolve(1);
    });
    child.on('close', (code, signal) => {
      for (const [sig, h] of handlers) process.off(sig, h);
      resolve(code ?? 128 + (os.constants.signals[signal] ?? 1));
    });
  });
}

function engineMessage(result) {
  const lines = (result.stderr || result.stdout || '')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^See '.*--help'/.test(l));
  return (lines.pop() ?? 'unknown error').replace(/^Error:\s*/i, '').replace(/^Error response from daemon:\s*/i, '');
}

function parseJsonArray(text) {
  try {
    const value = JSON.parse(text);
    return Array.isArray(value) ? value : [value];
  } catch {
    // docker prints one object per line for some --format '{{json .}}' calls
    const items = [];
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      try {
        items.push(JSON.parse(line));
      } catch {
        /* ignore */
      }
    }
    return items;
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// The double's own state: the system flag (the apiserver "registration") and the kernel.

const SYSTEM_FILE = path.join(STATE_DIR, 'system.json');

function readSystem() {
  try {
    return JSON.parse(fs.readFileSync(SYSTEM_FILE, 'utf8'));
  } catch {
    return { registered: false, running: false, kernelInstalled: false, vminitInstalled: false };
  }
}

function writeSystem(state) {
  fs.mkdirSync(STATE_DIR, { recursive: true });
  const tmp = `${SYSTEM_FILE}.${process.pid}.${randomBytes(4).toString('hex')}`;
  fs.writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
  fs.renameSync(tmp, SYSTEM_FILE);
}

function kernelInstalled(sys) {
  return ENV.CONTAINER_DOUBLE_KERNEL === 'installed' || sys.kernelInstalled === true;
}

/** Fails like the real CLI when the apiserver is not up; returns the system state otherwise. */
function requireSystem(kind = 'plain') {
  const sys = readSystem();
  if (!sys.running) throw xpcFailure(kind);
  return sys;
}

function appRoot(sys) {
  return sys.appRoot ?? `${STATE_DIR}/`;
}

function installRoot(sys) {
  if (sys.installRoot) return sys.installRoot;
  const binary = path.resolve(process.argv[1] ?? '.');
  return `${path.dirname(path.dirname(binary))}/`;
}

// ---------------------------------------------------------------------------------------------
// Argument parsing, ArgumentParser style

/**
 * spec: { usage, path, options: [{ key, names, type: 'flag'|'value'|'array', since?, value? }],
 *         positionals: [name...], rest?: name, passthroughAfter?: n, minRest?: n }
 */
function parseArgs(argv, spec) {
  const options = [...spec.options, { key: 'debug', names: ['--debug'], type: 'flag' }, { key: 'help', names: ['-h', '--help'], type: 'flag' }];
  const byName = new Map();
  for (const o of options) {
    if (o.since && !atLeast(o.since)) continue;
    if (o.until && atLeast(o.until)) continue;
    for (const n of o.names) byName.set(n, o);
  }
  const result = { _: [], rest: [] };
  for (const o of options) result[o.key] = o.type === 'array' ? [] : o.type === 'flag' ? false : undefined;
  const usage = (message) => usageExit(message, spec.usage, spec.path);
  const set = (o, name, value) => {
    if (o.type === 'flag') result[o.key] = true;
    else if (o.type === 'array') result[o.key].push(value);
    else result[o.key] = value;
    if (o.choices && !o.choices.includes(value)) throw usage(`The value '${value}' is invalid for '${name} <${o.value ?? o.key}>'`);
    if (o.check && !o.check(value)) throw usage(`The value '${value}' is invalid for '${name} <${o.value ?? o.key}>'`);
  };
  const positional = (word) => {
    if (spec.passthroughAfter !== undefined && result._.length >= spec.passthroughAfter) result.rest.push(word);
    else if (result._.length < spec.positionals.length) result._.push(word);
    else if (spec.rest) result.rest.push(word);
    else throw usage(`Unexpected argument '${word}'`);
  };
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i];
    if (spec.passthroughAfter !== undefined && result._.length >= spec.passthroughAfter) {
      result.rest.push(...argv.slice(i));
      break;
    }
    if (word === '--') {
      for (const w of argv.slice(i + 1)) positional(w);
      break;
    }
    if (word.startsWith('--') && word.length > 2) {
      const eq = word.indexOf('=');
      const name = eq === -1 ? word : word.slice(0, eq);
      const inline = eq === -1 ? undefined : word.slice(eq + 1);
      const o = byName.get(name);
      if (!o) throw usage(`Unknown option '${name}'`);
      if (o.type === 'flag') {
        if (inline !== undefined) throw usage(`Unknown option '${word}'`);
        set(o, name, true);
      } else {
        const value = inline ?? argv[++i];
        if (value === undefined) throw usage(`Missing value for '${name} <${o.value ?? o.key}>'`);
        set(o, name, value);
      }
      continue;
    }
    if (word.startsWith('-') && word.length > 1) {
      const chars = word.slice(1);
      for (let j = 0; j < chars.length; j++) {
        const name = `-${chars[j]}`;
        const o = byName.get(name);
        if (!o) throw usage(`Unknown option '${name}'`);
        if (o.type === 'flag') {
          set(o, name, true);
          continue;
        }
        const value = chars.slice(j + 1) || argv[++i];
        if (value === undefined) throw usage(`Missing value for '${name} <${o.value ?? o.key}>'`);
        set(o, name, value);
        break;
      }
      continue;
    }
    positional(word);
  }
  if (result.help) return result;
  if (result._.length < spec.positionals.length) {
    throw usage(`Missing expected argument '<${spec.positionals[result._.length]}>'`);
  }
  if (spec.minRest && result.rest.length < spec.minRest) throw usage(`Missing expected argument '<${spec.rest}> ...'`);
  return result;
}

function helpText(spec) {
  return `USAGE: ${spec.usage}\n\nThis is container-double, a test double of Apple's container CLI ${VERSION}.\n`;
}

const FORMAT_OPTION = {
  key: 'format',
  names: ['--format'],
  type: 'value',
  value: 'format',
  check: (v) => ['json', 'table'].includes(v) || (v === 'yaml' && atLeast('0.12.0')) || (v === 'toml' && MODERN),
};
const QUIET_OPTION = { key: 'quiet', names: ['-q', '--quiet'], type: 'flag' };

function requireFormat(format) {
  if (format === 'yaml' || format === 'toml') throw notEmulated(`--format ${format}`);
  return format ?? 'table';
}

// ---------------------------------------------------------------------------------------------
// Images

/** ClientImage.normalizeReference: `alpine` -> `docker.io/library/alpine:latest`. */
function splitReference(ref) {
  let rest = ref;
  let digest;
  const at = rest.indexOf('@');
  if (at !== -1) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let tag;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  const parts = rest.split('/');
  let domain = 'docker.io';
  if (parts.length > 1 && (parts[0].includes('.') || parts[0].includes(':') || parts[0] === 'localhost')) {
    domain = parts.shift();
  }
  let repository = parts.join('/');
  if (domain === 'docker.io' && !repository.includes('/')) repository = `library/${repository}`;
  if (!tag && !digest) tag = 'latest';
  return { domain, repository, tag, digest };
}

function normalizeReference(ref) {
  const { domain, repository, tag, digest } = splitReference(ref);
  return `${domain}/${repository}${tag ? `:${tag}` : ''}${digest ? `@${digest}` : ''}`;
}

function denormalizeReference(ref) {
  if (ref.startsWith('docker.io/library/')) return ref.slice('docker.io/library/'.length);
  if (ref.startsWith('docker.io/')) return ref.slice('docker.io/'.length);
  return ref;
}

/** The Apple reference for an engine tag; podman's `localhost/x` is what Apple calls docker.io/library/x. */
function appleReferenceFromEngine(tag) {
  if (!IS_DOCKER && tag.startsWith('localhost/')) return normalizeReference(tag.slice('localhost/'.length));
  return normalizeReference(tag);
}

function engineCandidates(ref) {
  const normalized = normalizeReference(ref);
  const candidates = [ref, normalized];
  if (!IS_DOCKER) {
    if (normalized.startsWith('docker.io/library/')) candidates.push(`localhost/${normalized.slice('docker.io/library/'.length)}`);
    else if (normalized.startsWith('docker.io/')) candidates.push(`localhost/${normalized.slice('docker.io/'.length)}`);
  }
  return [...new Set(candidates)];
}

/** Finds a local engine image for an Apple reference; null when the engine does not hold it. */
function resolveImage(ref) {
  for (const candidate of engineCandidates(ref)) {
    const r = engine(['image', 'inspect', candidate]);
    if (r.code === 0) {
      const info = parseJsonArray(r.stdout)[0];
      if (info) return { engineRef: candidate, info, reference: normalizeReference(ref) };
    }
  }
  return null;
}

function pullFailureMessage(ref) {
  const { domain, repository, tag, digest } = splitReference(ref);
  const host = domain === 'docker.io' ? 'registry-1.docker.io' : domain;
  const local = /^(localhost|127\.|10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.)/.test(host);
  const scheme = local ? 'http' : 'https';
  return `HTTP request to ${scheme}://${host}/v2/${repository}/manifests/${digest ?? tag} failed with response: 404 Not Found. Reason: manifest unknown`;
}

function imageDescriptor(info) {
  if (IS_DOCKER) {
    const repoDigest = (info.RepoDigests ?? [])[0];
    return {
      digest: repoDigest ? repoDigest.split('@')[1] : info.Id,
      mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
      size: info.Size ?? 0,
    };
  }
  return {
    digest: info.Digest || `sha256:${info.Id}`,
    mediaType: info.ManifestType || 'application/vnd.oci.image.manifest.v1+json',
    size: info.Size ?? 0,
  };
}

function imagePlatform(info) {
  return { architecture: info.Architecture || 'arm64', os: info.Os || 'linux', variant: info.Variant || undefined };
}

function imageProcessConfig(info) {
  const c = info.Config ?? {};
  return {
    Env: c.Env ?? undefined,
    Entrypoint: c.Entrypoint ?? undefined,
    Cmd: c.Cmd ?? undefined,
    WorkingDir: c.WorkingDir || undefined,
    User: c.User || undefined,
    Labels: c.Labels && Object.keys(c.Labels).length ? c.Labels : undefined,
    StopSignal: c.StopSignal || undefined,
  };
}

function ociImage(info) {
  const history = (info.History ?? []).map((h) => ({
    created: h.created || undefined,
    created_by: h.created_by || undefined,
    author: h.author || undefined,
    comment: h.comment || undefined,
    empty_layer: h.empty_layer || undefined,
  }));
  const config = imageProcessConfig(info);
  return {
    created: info.Created || undefined,
    author: info.Author || undefined,
    architecture: info.Architecture || 'arm64',
    os: info.Os || 'linux',
    variant: info.Variant || undefined,
    config: Object.values(config).some((v) => v !== undefined) ? config : undefined,
    rootfs: { type: info.RootFS?.Type ?? 'layers', diff_ids: info.RootFS?.Layers ?? [] },
    history: history.length ? history : undefined,
  };
}

function imageResource(reference, info) {
  const descriptor = imageDescriptor(info);
  const created = Date.parse(info.Created ?? '');
  const variant = { platform: imagePlatform(info), digest: descriptor.digest, size: info.Size ?? 0, config: ociImage(info) };
  if (MODERN) {
    return {
      id: descriptor.digest.replace(/^sha256:/, ''),
      configuration: { creationDate: encodeDate(Number.isNaN(created) ? 0 : created), name: reference, descriptor },
      variants: [variant],
    };
  }
  return { name: reference, index: descriptor, variants: [{ platform: variant.platform, config: variant.config, size: variant.size }] };
}

/** All tagged engine images as [{ reference, info }], sorted by reference. */
function listImages() {
  const ids = engine(['image', 'ls', '-q', '--no-trunc']).stdout.split('\n').map((s) => s.trim()).filter(Boolean);
  if (ids.length === 0) return [];
  const infos = parseJsonArray(engine(['image', 'inspect', ...new Set(ids)]).stdout);
  const images = new Map();
  for (const info of infos) {
    for (const tag of info.RepoTags ?? []) {
      if (!tag || tag.includes('<none>')) continue;
      const reference = appleReferenceFromEngine(tag);
      if (!images.has(reference)) images.set(reference, { reference, info });
    }
  }
  return [...images.values()].sort((a, b) => byteCompare(a.reference, b.reference));
}

function formatSize(bytes) {
  if (bytes < 1000) return `${bytes} bytes`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = bytes / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(1).replace(/\.0$/, '')} ${units[unit]}`;
}

// ---------------------------------------------------------------------------------------------
// Networks

function engineNetworkName(name) {
  return name === 'default' ? DEFAULT_NET_ENGINE : PREFIX + name;
}

/** One engine network inspect object, normalised across podman and docker. */
function normalizeEngineNetwork(raw) {
  if (IS_DOCKER) {
    const cfg = (raw.IPAM?.Config ?? []).find((c) => c.Subnet && !c.Subnet.includes(':')) ?? {};
    const v6 = (raw.IPAM?.Config ?? []).find((c) => c.Subnet && c.Subnet.includes(':'));
    return { name: raw.Name, created: Date.parse(raw.Created), subnet: cfg.Subnet, gateway: cfg.Gateway, subnetV6: v6?.Subnet, internal: raw.Internal === true, labels: raw.Labels ?? {} };
  }
  const subnets = raw.subnets ?? [];
  const v4 = subnets.find((s) => !s.subnet.includes(':')) ?? {};
  const v6 = subnets.find((s) => s.subnet.includes(':'));
  return { name: raw.name, created: Date.parse(raw.created), subnet: v4.subnet, gateway: v4.gateway, subnetV6: v6?.subnet, internal: raw.internal === true, labels: raw.labels ?? {} };
}

function inspectEngineNetworks(names) {
  if (names.length === 0) return [];
  const r = engine(['network', 'inspect', ...names]);
  return parseJsonArray(r.stdout).map(normalizeEngineNetwork);
}

function parseCidr(text) {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(text ?? '');
  if (!m) return null;
  const octets = m.slice(1, 5).map(Number);
  const prefix = Number(m[5]);
  if (octets.some((o) => o > 255) || prefix > 32) return null;
  const ip = ((octets[0] << 24) | (octets[1] << 16) | (octets[2] << 8) | octets[3]) >>> 0;
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return { base: (ip & mask) >>> 0, prefix, mask };
}

function ipString(n) {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

function cidrOverlap(a, b) {
  const x = parseCidr(a);
  const y = parseCidr(b);
  if (!x || !y) return false;
  const mask = x.prefix < y.prefix ? x.mask : y.mask;
  return ((x.base & mask) >>> 0) === ((y.base & mask) >>> 0);
}

function gatewayFor(subnet) {
  const c = parseCidr(subnet);
  return c ? ipString(c.base + 1) : undefined;
}

function defaultNetworkCreateArgs() {
  const args = ['network', 'create', '--label', `${LABEL}=1`, '--label', `${LABEL_ROLE}=builtin`];
  if (IS_DOCKER) args.push('-o', `com.docker.network.driver.mtu=${DEFAULT_MTU}`);
  else args.push('--disable-dns', '-o', `mtu=${DEFAULT_MTU}`);
  if (ENV.CONTAINER_DOUBLE_DEFAULT_SUBNET) args.push('--subnet', ENV.CONTAINER_DOUBLE_DEFAULT_SUBNET);
  args.push(DEFAULT_NET_ENGINE);
  return args;
}

function ensureDefaultNetwork() {
  let found = inspectEngineNetworks([DEFAULT_NET_ENGINE])[0];
  if (found) return found;
  engine(defaultNetworkCreateArgs()); // a parallel double may win the race: inspect again either way
  found = inspectEngineNetworks([DEFAULT_NET_ENGINE])[0];
  if (!found) fail('internalError', 'failed to create the default network');
  return found;
}

/** The double's networks: `default` plus the ones created with this state directory. */
function listNetworks() {
  const r = engine(['network', 'ls', '--format', '{{.Name}}', '--filter', `label=${LABEL_STATE}=${HASH}`]);
  const names = r.stdout.split('\n').map((s) => s.trim()).filter((n) => n.startsWith(PREFIX));
  const networks = [{ ...ensureDefaultNetwork(), appleName: 'default', builtin: true }];
  for (const n of inspectEngineNetworks(names)) {
    let config = {};
    try {
      config = JSON.parse(n.labels[LABEL_CONFIG] ?? '{}');
    } catch {
      /* keep the defaults */
    }
    networks.push({ ...n, appleName: n.name.slice(PREFIX.length), builtin: false, config });
  }
  return networks;
}

function findNetwork(name) {
  if (name === 'default') return { ...ensureDefaultNetwork(), appleName: 'default', builtin: true };
  const n = inspectEngineNetworks([PREFIX + name])[0];
  if (!n || n.labels[LABEL_STATE] !== HASH) return null;
  let config = {};
  try {
    config = JSON.parse(n.labels[LABEL_CONFIG] ?? '{}');
  } catch {
    /* keep the defaults */
  }
  return { ...n, appleName: name, builtin: false, config };
}

/** An `--internal` network: recorded in its config, since the engine network behind it may route out (below). */
function hostOnly(n) {
  return n.config?.internal === true || n.internal;
}

function networkResource(n) {
  const subnetStatus = MACOS < 26 && n.builtin && n.gateway ? `${n.gateway}/${parseCidr(n.subnet)?.prefix ?? 24}` : n.subnet;
  const gateway = n.gateway && n.gateway !== '<nil>' ? n.gateway : gatewayFor(n.subnet);
  const labels = n.builtin ? { 'com.apple.container.resource.role': 'builtin' } : (n.config.labels ?? {});
  const creation = n.builtin ? n.created : (n.config.creationMs ?? n.created);
  if (MODERN) {
    return {
      id: n.appleName,
      configuration: {
        name: n.appleName,
        creationDate: encodeDate(Number.isNaN(creation) ? Date.now() : creation),
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
  const status = atLeast('0.8.0')
    ? { ipv4Subnet: subnetStatus, ipv4Gateway: gateway, ipv6Subnet: n.subnetV6 }
    : { address: subnetStatus, gateway };
  return {
    id: n.appleName,
    state: 'running',
    config: {
      id: n.appleName,
      creationDate: encodeDate(Number.isNaN(creation) ? Date.now() : creation),
      mode: hostOnly(n) ? 'hostOnly' : 'nat',
      ipv4Subnet: n.builtin ? undefined : n.config.ipv4Subnet,
      labels,
      pluginInfo: { plugin: 'container-network-vmnet' },
    },
    status,
  };
}

function usedSubnets() {
  const r = engine(['network', 'ls', '--format', '{{.Name}}']);
  const names = r.stdout.split('\n').map((s) => s.trim()).filter(Boolean);
  return inspectEngineNetworks(names).flatMap((n) => [n.subnet].filter(Boolean));
}

// ---------------------------------------------------------------------------------------------
// Volumes

function engineVolumeName(name) {
  return PREFIX + name;
}

function volumeSource(sys, name) {
  return `${appRoot(sys).replace(/\/$/, '')}/volumes/${name}/volume.img`;
}

function inspectVolume(name) {
  const r = engine(['volume', 'inspect', engineVolumeName(name)]);
  if (r.code !== 0) return null;
  const raw = parseJsonArray(r.stdout)[0];
  if (!raw || (raw.Labels ?? {})[LABEL_STATE] !== HASH) return null;
  return { name, raw, config: volumeConfig(raw) };
}

function createVolume(name, config) {
  const r = engine([
    'volume', 'create',
    '--label', `${LABEL}=1`, '--label', `${LABEL_STATE}=${HASH}`, '--label', `${LABEL_ID}=${name}`,
    '--label', `${LABEL_CONFIG}=${Buffer.from(JSON.stringify(config)).toString('base64url')}`,
    engineVolumeName(name),
  ]);
  if (r.code !== 0) fail('internalError', `failed to create volume ${name}`, engineMessage(r));
}

function listVolumes() {
  const r = engine(['volume', 'ls', '-q', '--filter', `label=${LABEL_STATE}=${HASH}`]);
  const names = r.stdout.split('\n').map((s) => s.trim()).filter((n) => n.startsWith(PREFIX));
  if (names.length === 0) return [];
  return parseJsonArray(engine(['volume', 'inspect', ...names]).stdout).map((raw) => ({ name: raw.Name.slice(PREFIX.length), raw, config: volumeConfig(raw) }));
}

/** A volume's Apple configuration, kept base64url-encoded in a label (podman parses volume labels as CSV). */
function volumeConfig(raw) {
  try {
    return JSON.parse(Buffer.from(raw.Labels?.[LABEL_CONFIG] ?? '', 'base64url').toString('utf8') || '{}');
  } catch {
    return {};
  }
}

function volumeResource(sys, v) {
  const created = v.config.creationMs ?? Date.parse(v.raw.CreatedAt ?? '');
  const configuration = {
    name: v.name,
    driver: 'local',
    format: 'ext4',
    source: volumeSource(sys, v.name),
    labels: v.config.labels ?? {},
    options: v.config.options ?? {},
    sizeInBytes: v.config.sizeInBytes,
  };
  if (MODERN) return { id: v.name, configuration: { ...configuration, creationDate: encodeDate(created) } };
  return { ...configuration, createdAt: encodeDate(created) };
}

// ---------------------------------------------------------------------------------------------
// Containers

function engineContainerName(id) {
  return PREFIX + id;
}

function engineState(raw) {
  const status = String(raw.State?.Status ?? '').toLowerCase();
  if (status === 'running') return 'running';
  if (status === 'stopping' || status === 'removing') return 'stopping';
  if (['created', 'configured', 'initialized', 'exited', 'stopped', 'dead'].includes(status)) return 'stopped';
  if (status === 'paused') return 'running';
  return 'unknown';
}

function toRecord(raw) {
  const labels = raw.Config?.Labels ?? {};
  if (labels[LABEL_STATE] !== HASH || !labels[LABEL_CONFIG]) return null;
  let stored;
  try {
    stored = JSON.parse(labels[LABEL_CONFIG]);
  } catch {
    return null;
  }
  const status = String(raw.State?.Status ?? '').toLowerCase();
  const startedMs = Date.parse(raw.State?.StartedAt ?? '');
  const started = !Number.isNaN(startedMs) && new Date(startedMs).getUTCFullYear() > 1970;
  const state = engineState(raw);
  const exited = ['exited', 'stopped', 'dead'].includes(status) && started;
  return {
    id: stored.apple.id,
    engineName: String(raw.Name ?? '').replace(/^\//, ''),
    stored,
    state,
    startedMs: started ? startedMs : undefined,
    // A --rm container is gone once its process has exited (the apiserver deletes its bundle).
    hidden: stored.x.autoRemove === true && exited,
    networks: raw.NetworkSettings?.Networks ?? {},
    raw,
  };
}

function inspectRecords(names) {
  if (names.length === 0) return [];
  const r = engine(['container', 'inspect', ...names]);
  return parseJsonArray(r.stdout).map(toRecord).filter(Boolean);
}

/** Every container of this double (hidden --rm leftovers are removed on the way). */
function listRecords() {
  const r = engine(['ps', '-a', '-q', '--no-trunc', '--filter', `label=${LABEL_STATE}=${HASH}`]);
  const ids = r.stdout.split('\n').map((s) => s.trim()).filter(Boolean);
  const records = inspectRecords(ids);
  for (const rec of records) if (rec.hidden) reap(rec);
  return records.filter((rec) => !rec.hidden);
}

function getRecord(id) {
  const rec = inspectRecords([engineContainerName(id)])[0];
  if (!rec || rec.id !== id) return null;
  if (rec.hidden) {
    reap(rec);
    return null;
  }
  return rec;
}

function reap(rec) {
  engine(['rm', '-f', rec.engineName]);
}

function isMachine(rec) {
  return MODERN && rec.stored.apple.labels?.['com.apple.container.plugin'] === 'machine';
}

function attachments(rec) {
  if (rec.state !== 'running') return [];
  const result = [];
  rec.stored.apple.networks.forEach((n, i) => {
    const en = rec.networks[rec.stored.x.engineNetworks[i]];
    if (!en || !en.IPAddress) return;
    const cidr = `${en.IPAddress}/${en.IPPrefixLen}`;
    const gateway = en.Gateway && en.Gateway !== '<nil>' ? en.Gateway : gatewayFor(cidr);
    const mac = !IS_DOCKER && en.MacAddress ? en.MacAddress.toLowerCase() : rec.stored.x.macs[i];
    if (!atLeast('0.8.0')) {
      result.push({ network: n.network, hostname: n.options.hostname, address: cidr, gateway, macAddress: mac });
      return;
    }
    result.push({
      network: n.network,
      hostname: n.options.hostname,
      ipv4Address: cidr,
      ipv4Gateway: gateway,
      macAddress: mac,
      mtu: atLeast('0.11.0') ? (n.options.mtu ?? DEFAULT_MTU) : undefined,
      variant: atLeast('1.1.0') ? (MACOS < 26 ? 'allocationOnly' : 'reserved') : undefined,
    });
  });
  return result;
}

/** The stored (1.2.2) configuration, trimmed to the fields the emulated version prints (§3.4). */
function versionedConfiguration(apple) {
  const c = structuredClone(apple);
  c.initProcess.rlimits = c.initProcess.rlimits.map((r) => ({
    ...r,
    soft: r.soft === UNLIMITED ? UINT64_MAX : r.soft,
    hard: r.hard === UNLIMITED ? UINT64_MAX : r.hard,
  }));
  if (!atLeast('1.2.0')) {
    delete c.maskedPaths;
    delete c.readonlyPaths;
  }
  if (!MODERN) {
    delete c.creationDate;
    delete c.stopSignal;
    delete c.shmSize;
    delete c.resources.cpuOverhead;
    c.publishedSockets = c.publishedSockets.map((s) => ({ ...s, containerPath: `file://${s.containerPath}`, hostPath: `file://${s.hostPath}` }));
  }
  if (!atLeast('0.12.0')) {
    delete c.capAdd;
    delete c.capDrop;
  }
  if (!atLeast('0.10.0')) delete c.useInit;
  if (!atLeast('0.8.0')) delete c.readOnly;
  if (!atLeast('0.11.0')) for (const n of c.networks) delete n.options.mtu;
  if (!atLeast('0.7.0')) for (const n of c.networks) delete n.options.macAddress;
  if (!atLeast('0.3.0')) delete c.publishedPorts;
  if (!atLeast('0.2.0')) {
    delete c.publishedSockets;
    c.hostname = c.networks[0]?.options.hostname ?? c.id;
    c.networks = c.networks.map((n) => n.network);
  }
  return c;
}

function renderContainer(rec, sys) {
  const configuration = versionedConfiguration(rec.stored.apple);
  const bootMs = sys.bootMs ?? 0;
  const started = rec.startedMs !== undefined && rec.startedMs >= bootMs ? encodeDate(rec.startedMs) : undefined;
  const networks = attachments(rec);
  if (MODERN) return { id: rec.id, configuration, status: { state: rec.state, networks, startedDate: started } };
  if (atLeast('0.8.0')) return { status: rec.state, configuration, networks, startedDate: started };
  return { status: rec.state, configuration, networks };
}

// --- parsing helpers for run/create (Parser.swift)

const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

function validateName(id) {
  if (!atLeast('1.2.0')) return;
  if (!NAME_RE.test(id) || id.length > 63) fail('invalidArgument', `container ID ${id} is not a valid container ID`);
}

function parseLabels(values) {
  const labels = {};
  for (const value of values) {
    if (value === '') fail('invalidArgument', 'label cannot be an empty string');
    const parts = value.split('=');
    if (parts.length > 2) fail('invalidArgument', `invalid label format ${value}`);
    labels[parts[0]] = parts[1] ?? '';
  }
  return labels;
}

function envFromFiles(files) {
  const entries = [];
  for (const file of files) {
    let text;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      fail('invalidArgument', `failed to read env file ${file}`);
    }
    for (const rawLine of text.split(/\r?\n/)) {
      const line = rawLine.replace(/^\s+/, '');
      if (line === '' || line.startsWith('#')) continue;
      const eq = line.indexOf('=');
      const name = eq === -1 ? line : line.slice(0, eq);
      if (/\s/.test(name)) fail('invalidArgument', `variable '${name}' contains whitespaces`);
      if (eq === -1) {
        if (ENV[name] !== undefined) entries.push(`${name}=${ENV[name]}`);
      } else entries.push(line);
    }
  }
  return entries;
}

function envFromFlags(values) {
  const entries = [];
  for (const value of values) {
    if (value.includes('=')) entries.push(value);
    else if (ENV[value] !== undefined) entries.push(`${value}=${ENV[value]}`);
  }
  return entries;
}

/** Image env, then --env-file, then -e, de-duplicated by key (later wins). */
function mergeEnv(...lists) {
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

/** Measurement.parse: binary units b/k/m/g/t/p with optional b or ib; a bare number is bytes. */
function parseMemory(text) {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([bkmgtp])?(b|ib)?\s*$/i.exec(text);
  if (!m) fail('invalidArgument', `invalid size ${text}`);
  const power = { b: 0, k: 1, m: 2, g: 3, t: 4, p: 5 }[(m[2] ?? 'b').toLowerCase()];
  return Number(m[1]) * 1024 ** power;
}

const RLIMITS = ['core', 'cpu', 'data', 'fsize', 'locks', 'memlock', 'msgqueue', 'nice', 'nofile', 'nproc', 'rss', 'rtprio', 'rttime', 'sigpending', 'stack'];
/** RLIM_INFINITY as a UInt64; kept as a string in stored JSON and printed as a bare number. */
const UNLIMITED = 'unlimited';
const UINT64_MAX = 18446744073709551615n;

function parseUlimits(values) {
  return values.map((value) => {
    const m = /^([a-z]+)=(-?\w+)(?::(-?\w+))?$/.exec(value);
    if (!m || !RLIMITS.includes(m[1])) fail('invalidArgument', `invalid ulimit ${value}`);
    const num = (s) => (s === 'unlimited' || s === '-1' ? UNLIMITED : Number(s));
    const soft = num(m[2]);
    const hard = m[3] === undefined ? soft : num(m[3]);
    if (Number.isNaN(Number(soft === UNLIMITED ? 0 : soft)) || Number.isNaN(Number(hard === UNLIMITED ? 0 : hard))) fail('invalidArgument', `invalid ulimit ${value}`);
    return { json: { limit: `RLIMIT_${m[1].toUpperCase()}`, soft, hard }, engine: `${m[1]}=${soft === UNLIMITED ? -1 : soft}:${hard === UNLIMITED ? -1 : hard}` };
  });
}

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
 */
function oldKernelShims() {
  const dir = path.join(STATE_DIR, 'kernel-6.12.28-bin');
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
 */
function effectiveCapabilities(capAdd, capDrop) {
  if (!atLeast(gate('capabilities.oci-default'))) return [...OCI_DEFAULT_CAPABILITIES, 'CAP_NET_ADMIN'];
  if (capAdd.includes('ALL')) return ['ALL'];
  const caps = new Set(capDrop.includes('ALL') ? [] : OCI_DEFAULT_CAPABILITIES);
  for (const c of capAdd) caps.add(c);
  for (const c of capDrop) caps.delete(c);
  return [...caps];
}

function parsePublish(values) {
  if (atLeast('0.7.0') && values.length > 64) fail('invalidArgument', 'cannot exceed more than 64 port publish descriptors');
  const ports = [];
  const range = (text, what, whole) => {
    const [a, b] = text.split('-');
    const start = Number(a);
    const end = b === undefined ? start : Number(b);
    if (!/^\d+$/.test(a) || (b !== undefined && !/^\d+$/.test(b)) || start <= 1 || end > 65535 || end < start) {
      fail('invalidArgument', `invalid publish ${what} port: ${whole}`);
    }
    return { start, count: end - start + 1 };
  };
  for (const value of values) {
    const m = /^(?:(\[[0-9a-fA-F:.]+\]|\d{1,3}(?:\.\d{1,3}){3}):)?([^:/]+):([^:/]+)(?:\/([A-Za-z]+))?$/.exec(value);
    if (!m) fail('invalidArgument', `invalid publish value: ${value}`);
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

function randomMac() {
  const bytes = randomBytes(6);
  bytes[0] = [0xf2, 0xf6, 0xfa, 0xfe][bytes[0] % 4];
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

function parseNetworkFlags(values) {
  if (values.length === 0) return [{ name: 'default', mac: undefined, mtu: undefined }];
  const parsed = values.map((value) => {
    const [name, ...props] = value.split(',');
    const net = { name, mac: undefined, mtu: undefined };
    for (const prop of props) {
      const [k, v] = prop.split('=');
      if (k === 'mac' && atLeast('0.7.0')) {
        if (!/^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/.test(v ?? '')) fail('invalidArgument', `invalid MAC address: ${v}`);
        net.mac = v.toLowerCase();
      } else if (k === 'mtu' && atLeast('0.11.0')) {
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

/** -v forms (§2.1.1): anonymous volume, bind mount (virtiofs) or named volume. */
function parseVolumeFlag(value, sys, warnings) {
  const parts = value.split(':');
  if (parts.length === 1) {
    if (!parts[0].startsWith('/')) fail('invalidArgument', `invalid volume ${value}`);
    return anonymousVolumeMount(sys, parts[0], []);
  }
  const [src, dst, opts] = parts;
  if (parts.length > 3 || !dst) fail('invalidArgument', `invalid volume ${value}`);
  if (dst === '') fail('invalidArgument', 'mount destination cannot be empty');
  const options = opts ? opts.split(',').filter(Boolean) : [];
  if (src.includes('/') || src === '.' || src === '..') {
    if (!fs.existsSync(src)) fail('invalidArgument', `path '${src}' does not exist`);
    return { json: { type: { virtiofs: {} }, source: path.resolve(src), destination: dst, options }, engine: { type: 'bind', source: path.resolve(src), target: dst, readonly: options.includes('ro') } };
  }
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(src)) fail('invalidArgument', `invalid volume name ${src}`);
  if (!inspectVolume(src)) {
    createVolume(src, { creationMs: Date.now(), labels: {}, options: {} });
    warnings.push('named volume was automatically created');
  }
  return volumeMount(sys, src, dst, options);
}

function volumeMount(sys, name, dst, options) {
  return {
    json: { type: { volume: { name, format: 'ext4', cache: { on: {} }, sync: { fsync: {} } } }, source: volumeSource(sys, name), destination: dst, options },
    engine: { type: 'volume', source: engineVolumeName(name), target: dst, readonly: options.includes('ro') },
  };
}

function anonymousVolumeMount(sys, dst, options) {
  const name = randomUUID();
  createVolume(name, { creationMs: Date.now(), labels: { 'com.apple.container.resource.anonymous': '' }, options: {} });
  return volumeMount(sys, name, dst, options);
}

/** --mount type=…,source=…,target=…[,readonly] (§2.1.1). */
function parseMountFlag(spec, sys) {
  let type = 'virtiofs';
  let source;
  let destination;
  let readonly = false;
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
  if (!destination) fail('invalidArgument', 'mount destination cannot be empty');
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
    if (!source) return anonymousVolumeMount(sys, destination, options);
    if (!inspectVolume(source)) createVolume(source, { creationMs: Date.now(), labels: {}, options: {} });
    return volumeMount(sys, source, destination, options);
  }
  fail('invalidArgument', `unsupported mount type ${type}`);
}

function engineMountArg(m) {
  if (m.type === 'tmpfs') {
    const extra = m.extra.map((o) => o.replace(/^size=/, 'tmpfs-size=').replace(/^mode=/, 'tmpfs-mode='));
    return ['--mount', ['type=tmpfs', `destination=${m.target}`, ...(m.readonly ? ['readonly'] : []), ...extra].join(',')];
  }
  return ['--mount', [`type=${m.type}`, `source=${m.source}`, `destination=${m.target}`, ...(m.readonly ? ['readonly'] : [])].join(',')];
}

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

const UINT32 = (v) => /^\d+$/.test(v) && Number(v) <= 0xffffffff;

const PROCESS_OPTIONS = [
  { key: 'env', names: ['-e', '--env'], type: 'array', value: 'env' },
  { key: 'envFile', names: ['--env-file'], type: 'array', value: 'env-file' },
  { key: 'gid', names: ['--gid'], type: 'value', check: UINT32 },
  { key: 'interactive', names: ['-i', '--interactive'], type: 'flag' },
  { key: 'tty', names: ['-t', '--tty'], type: 'flag' },
  { key: 'user', names: ['-u', '--user'], type: 'value' },
  { key: 'uid', names: ['--uid'], type: 'value', check: UINT32 },
  { key: 'workdir', names: ['-w', '--workdir', '--cwd'], type: 'value', value: 'dir' },
  { key: 'ulimit', names: ['--ulimit'], type: 'array', since: '0.9.0' },
];

const RUN_OPTIONS = [
  ...PROCESS_OPTIONS,
  { key: 'cpus', names: ['-c', '--cpus'], type: 'value', value: 'cpus', check: (v) => /^[+-]?\d+$/.test(v) },
  { key: 'memory', names: ['-m', '--memory'], type: 'value', value: 'memory' },
  { key: 'arch', names: ['-a', '--arch'], type: 'value' },
  { key: 'os', names: ['--os'], type: 'value' },
  { key: 'platform', names: ['--platform'], type: 'value', since: '0.4.0' },
  { key: 'capAdd', names: ['--cap-add'], type: 'array', since: gate('create.cap-add') },
  { key: 'capDrop', names: ['--cap-drop'], type: 'array', since: gate('create.cap-add') },
  { key: 'cidfile', names: ['--cidfile'], type: 'value' },
  { key: 'detach', names: ['-d', '--detach'], type: 'flag' },
  { key: 'dns', names: ['--dns'], type: 'array' },
  { key: 'dnsDomain', names: ['--dns-domain'], type: 'value' },
  { key: 'dnsOption', names: ['--dns-option'], type: 'array' },
  { key: 'dnsSearch', names: ['--dns-search'], type: 'array' },
  { key: 'noDns', names: ['--no-dns'], type: 'flag' },
  { key: 'entrypoint', names: ['--entrypoint'], type: 'value' },
  { key: 'init', names: ['--init'], type: 'flag', since: gate('create.init') },
  { key: 'initImage', names: ['--init-image'], type: 'value', since: '0.10.0' },
  { key: 'kernel', names: ['-k', '--kernel'], type: 'value' },
  { key: 'kernelArg', names: ['--kernel-arg'], type: 'array', since: '1.2.0' },
  { key: 'label', names: ['-l', '--label'], type: 'array' },
  { key: 'maskedPath', names: ['--masked-path'], type: 'array', since: '1.2.0' },
  { key: 'readOnlyPath', names: ['--read-only-path'], type: 'array', since: '1.2.0' },
  { key: 'mount', names: ['--mount'], type: 'array' },
  { key: 'name', names: ['--name'], type: 'value' },
  { key: 'network', names: ['--network'], type: 'array', since: gate('create.network') },
  { key: 'publish', names: ['-p', '--publish'], type: 'array', since: gate('create.publish') },
  { key: 'publishSocket', names: ['--publish-socket'], type: 'array', since: '0.2.0' },
  { key: 'readOnly', names: ['--read-only'], type: 'flag', since: '0.8.0' },
  { key: 'rm', names: ['--rm', '--remove'], type: 'flag' },
  { key: 'rosetta', names: ['--rosetta'], type: 'flag', since: '0.7.0' },
  { key: 'runtime', names: ['--runtime'], type: 'value', since: '0.10.0' },
  { key: 'ssh', names: ['--ssh'], type: 'flag', since: '0.4.0' },
  { key: 'shmSize', names: ['--shm-size'], type: 'value', since: '1.0.0' },
  { key: 'tmpfs', names: ['--tmpfs'], type: 'array' },
  { key: 'virtualization', names: ['--virtualization'], type: 'flag', since: '0.3.0' },
  { key: 'volume', names: ['-v', '--volume'], type: 'array' },
  { key: 'scheme', names: ['--scheme'], type: 'value', choices: ['http', 'https', 'auto'] },
  { key: 'maxConcurrentDownloads', names: ['--max-concurrent-downloads'], type: 'value', check: (v) => /^\d+$/.test(v) },
];

const PROGRESS_OPTIONS = [
  { key: 'progress', names: ['--progress'], type: 'value', since: gate('create.progress'), choices: ['auto', 'none', 'ansi', 'plain', 'color'] },
  { key: 'disableProgressUpdates', names: ['--disable-progress-updates'], type: 'flag', until: gate('create.progress') },
];

/** run/create steps 2 to 9 of §2.1.3. Returns the id and the created record's facts. */
function createContainer(opts, mode, sys) {
  const id = opts.name ?? randomUUID();
  validateName(id);
  if (mode === 'run' && getRecord(id)) fail('exists', `container with id ${id} already exists`);

  const ref = opts._[0];
  const image = resolveImage(ref);
  if (!image) fail('internalError', pullFailureMessage(ref));
  const imageConfig = imageProcessConfig(image.info);

  // Process
  const env = mergeEnv(imageConfig.Env ?? [], envFromFiles(opts.envFile), envFromFlags(opts.env));
  let entrypoint = imageConfig.Entrypoint ?? [];
  let cmd = opts.rest.length > 0 ? opts.rest : (imageConfig.Cmd ?? []);
  if (opts.entrypoint) {
    entrypoint = [opts.entrypoint];
    cmd = opts.rest;
  }
  const argv = [...entrypoint, ...cmd];
  if (argv.length === 0) fail('invalidArgument', 'command/entrypoint not specified for container process');
  const user = parseUser(opts, imageConfig);
  const workdir = opts.workdir ?? imageConfig.WorkingDir ?? '/';
  const ulimits = parseUlimits(opts.ulimit);

  // Management
  const labels = parseLabels(opts.label);
  const warnings = [];
  const mounts = [
    ...opts.volume.map((v) => parseVolumeFlag(v, sys, warnings)),
    ...opts.mount.map((m) => parseMountFlag(m, sys)),
    ...opts.tmpfs.map((t) => ({ json: { type: { tmpfs: {} }, source: 'tmpfs', destination: t, options: [] }, engine: { type: 'tmpfs', target: t, readonly: false, extra: [] } })),
  ];
  for (const w of warnings) err(`${w}\n`);
  const ports = parsePublish(opts.publish);
  const sockets = opts.publishSocket.map((s) => {
    const [hostPath, containerPath] = s.split(':');
    if (!hostPath || !containerPath) fail('invalidArgument', `invalid publish socket value: ${s}`);
    return { hostPath: path.resolve(hostPath), containerPath };
  });
  if (opts.noDns && (opts.dns.length || opts.dnsDomain || opts.dnsOption.length || opts.dnsSearch.length)) {
    throw usageExit('`--no-dns` cannot be used with DNS configuration flags (`--dns`, `--dns-domain`, `--dns-option`, `--dns-search`)', `container ${mode} [<options>] <image> [<arguments> ...]`, mode);
  }
  const domain = opts.dnsDomain ?? (ENV.CONTAINER_DOUBLE_DNS_DOMAIN || undefined);
  const networkFlags = parseNetworkFlags(opts.network);
  const networks = [];
  for (const [i, n] of networkFlags.entries()) {
    if (n.name !== 'default' && MACOS < 26) fail('unsupported', 'non-default network configuration requires macOS 26 or newer');
    const found = n.name === 'default' ? { appleName: 'default' } : findNetwork(n.name);
    if (!found) fail('notFound', `network ${n.name} not found`);
    const hostname = i > 0 ? id : domain ? `${id}.${domain}.` : id.includes('.') ? `${id}.` : id;
    networks.push({ apple: { network: n.name, options: { hostname, macAddress: n.mac, mtu: n.mtu ?? DEFAULT_MTU } }, engine: engineNetworkName(n.name), mac: n.mac ?? randomMac() });
  }

  // Resources
  const cpus = opts.cpus !== undefined ? Number(opts.cpus) : DEFAULT_CPUS;
  const memory = opts.memory !== undefined ? Math.floor(parseMemory(opts.memory) / MIB) * MIB : DEFAULT_MEMORY;
  let platform = imagePlatform(image.info);
  if (opts.platform) {
    const [pos, parch, pvariant] = opts.platform.split('/');
    platform = { os: pos, architecture: parch, variant: pvariant };
  } else if (opts.arch || opts.os) platform = { os: opts.os ?? platform.os, architecture: opts.arch ?? platform.architecture, variant: undefined };
  const shmSize = opts.shmSize !== undefined ? Math.floor(parseMemory(opts.shmSize)) : undefined;

  const apple = {
    id,
    image: { reference: image.reference, descriptor: imageDescriptor(image.info) },
    mounts: mounts.map((m) => m.json),
    publishedPorts: ports,
    publishedSockets: sockets,
    labels,
    sysctls: {},
    networks: networks.map((n) => n.apple),
    dns: opts.noDns ? undefined : { nameservers: opts.dns, domain, searchDomains: opts.dnsSearch, options: opts.dnsOption },
    rosetta: opts.rosetta === true,
    initProcess: {
      executable: argv[0],
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
  if (mode === 'create' && getRecord(id)) fail('exists', `container already exists: ${id}`);
  if (atLeast('0.10.0') && memory < 200 * MIB) fail('invalidArgument', `minimum memory amount allowed is 200 MiB (got ${memory} bytes)`);

  const stored = { apple, x: { autoRemove: opts.rm === true, engineNetworks: networks.map((n) => n.engine), macs: networks.map((n) => n.mac) } };
  const args = ['create', '--name', engineContainerName(id)];
  args.push('--label', `${LABEL}=1`, '--label', `${LABEL_STATE}=${HASH}`, '--label', `${LABEL_ID}=${id}`, '--label', `${LABEL_CONFIG}=${JSON.stringify(stored)}`);
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
  if (ENV.CONTAINER_DOUBLE_GUEST_KERNEL === '6.12.28') args.push('-v', `${oldKernelShims()}:/usr/local/sbin:ro`);
  for (const p of ports) {
    const host = p.hostAddress.includes(':') ? `[${p.hostAddress}]` : p.hostAddress;
    const hp = p.count > 1 ? `${p.hostPort}-${p.hostPort + p.count - 1}` : `${p.hostPort}`;
    const cp = p.count > 1 ? `${p.containerPort}-${p.containerPort + p.count - 1}` : `${p.containerPort}`;
    args.push('-p', `${host}:${hp}:${cp}/${p.proto}`);
  }
  if (networks.length === 0) args.push('--network', 'none');
  else if (IS_DOCKER) args.push('--network', networks[0].engine);
  else for (const n of networks) args.push('--network', `${n.engine}:mac=${n.mac}`);
  // The capability set of the container's processes (main and exec'd), from nothing up.
  args.push('--cap-drop', 'ALL');
  for (const c of effectiveCapabilities(apple.capAdd, apple.capDrop)) args.push('--cap-add', c);
  for (const u of ulimits) args.push('--ulimit', u.engine);
  if (shmSize !== undefined) args.push('--shm-size', `${shmSize}b`);
  for (const d of opts.dns) args.push('--dns', d);
  for (const d of opts.dnsSearch) args.push('--dns-search', d);
  for (const d of opts.dnsOption) args.push('--dns-option', d);
  if (ENV.CONTAINER_DOUBLE_ENFORCE_RESOURCES === '1') {
    args.push('--cpus', String(Math.min(cpus, os.cpus().length)), '--memory', `${memory}b`);
  }
  args.push('--entrypoint', IS_DOCKER ? argv[0] : JSON.stringify([argv[0]]));
  args.push(image.engineRef, ...argv.slice(1));

  let r = engine(args);
  if (r.code !== 0 && /no such network|network not found|unable to find network|not found/i.test(r.stderr) && networks.some((n) => n.engine === DEFAULT_NET_ENGINE)) {
    ensureDefaultNetwork();
    r = engine(args);
  }
  if (r.code !== 0 && /already in use|already exists/i.test(r.stderr)) {
    // A --rm container whose process exited is gone for Apple; its engine remains may linger.
    const leftover = inspectRecords([engineContainerName(id)])[0];
    if (leftover?.hidden) {
      reap(leftover);
      r = engine(args);
    } else {
      fail('exists', mode === 'run' ? `container with id ${id} already exists` : `container already exists: ${id}`);
    }
  }
  if (r.code !== 0) fail('internalError', `failed to create container ${id}`, cz('internalError', engineMessage(r)));
  if (IS_DOCKER) {
    for (const n of networks.slice(1)) {
      const c = engine(['network', 'connect', n.engine, engineContainerName(id)]);
      if (c.code !== 0) {
        engine(['rm', '-f', engineContainerName(id)]);
        fail('internalError', `failed to create container ${id}`, cz('internalError', engineMessage(c)));
      }
    }
  }
  if (opts.cidfile) fs.writeFileSync(opts.cidfile, id, { mode: 0o644 });
  return { id, stored };
}

function checkMountSources(rec) {
  for (const m of rec.stored.apple.mounts) {
    if (m.type.virtiofs && !fs.existsSync(m.source)) fail('invalidArgument', `mount source path '${m.source}' does not exist`);
  }
}

function bootstrapFailure(id, result) {
  return cz('internalError', `failed to bootstrap container ${id}`, cz('internalError', engineMessage(result)));
}

// ---------------------------------------------------------------------------------------------
// Commands

const commands = {};

// --- run / create

function runCreateSpec(mode) {
  const options = mode === 'run' ? [...RUN_OPTIONS, ...PROGRESS_OPTIONS] : RUN_OPTIONS;
  return { usage: `container ${mode} [<options>] <image> [<arguments> ...]`, path: mode, options, positionals: ['image'], rest: 'arguments', passthroughAfter: 1 };
}

commands.create = async (argv) => {
  const spec = runCreateSpec('create');
  const opts = parseArgs(argv, spec);
  if (opts.help) return out(helpText(spec));
  const sys = requireSystem();
  const { id } = createContainer(opts, 'create', sys);
  out(`${id}\n`);
};

commands.run = async (argv) => {
  const spec = runCreateSpec('run');
  const opts = parseArgs(argv, spec);
  if (opts.help) return out(helpText(spec));
  const sys = requireSystem();
  const { id } = createContainer(opts, 'run', sys);
  const name = engineContainerName(id);
  if (opts.detach) {
    const r = engine(['start', name]);
    if (r.code !== 0) {
      engine(['rm', '-f', name]);
      throw new Exit(1, topLevel(bootstrapFailure(id, r)));
    }
    out(`${id}\n`);
    return 0;
  }
  const args = ['start', '-a', ...(opts.interactive ? ['-i'] : []), name];
  const code = await engineAttached(args, [opts.interactive ? 'inherit' : 'ignore', 'inherit', 'inherit']);
  const after = inspectRecords([name])[0];
  const error = after?.raw.State?.Error;
  if (after && error && after.startedMs === undefined) {
    engine(['rm', '-f', name]);
    throw new Exit(1, topLevel(bootstrapFailure(id, { stderr: error })));
  }
  if (after?.stored.x.autoRemove && after.state !== 'running') engine(['rm', '-f', name]);
  return code;
};

// --- start

commands.start = async (argv) => {
  const spec = {
    usage: 'container start [--attach] [--interactive] <container-id>',
    path: 'start',
    options: [
      { key: 'attach', names: ['-a', '--attach'], type: 'flag' },
      { key: 'interactive', names: ['-i', '--interactive'], type: 'flag' },
    ],
    positionals: ['container-id'],
  };
  const opts = parseArgs(argv, spec);
  if (opts.help) return out(helpText(spec));
  requireSystem();
  const id = opts._[0];
  const rec = getRecord(id);
  if (!rec) fail('notFound', `get failed: container ${id} not found`);
  if (rec.state === 'running') {
    if (opts.attach) fail('invalidState', 'attach is currently unsupported on already running containers');
    out(`${id}\n`);
    return 0;
  }
  checkMountSources(rec);
  if (opts.attach || opts.interactive) {
    const args = ['start', '-a', ...(opts.interactive ? ['-i'] : []), rec.engineName];
    return engineAttached(args, [opts.interactive ? 'inherit' : 'ignore', 'inherit', 'inherit']);
  }
  const r = engine(['start', rec.engineName]);
  if (r.code !== 0) throw new Exit(1, topLevel(bootstrapFailure(id, r)));
  out(`${id}\n`);
  return 0;
};

// --- stop / kill / delete

const SIGNALS = new Set(Object.keys(os.constants.signals));

function normalizeSignal(text) {
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    if (n >= 1 && n <= 64) return text;
  }
  const upper = text.toUpperCase();
  const name = upper.startsWith('SIG') ? upper : `SIG${upper}`;
  if (SIGNALS.has(name)) return name;
  return null;
}

async function waitUntilStopped(name, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await engineAsync(['container', 'inspect', '--format', '{{.State.Status}}', name]);
    if (r.code !== 0) return true;
    const status = r.stdout.trim().toLowerCase();
    if (status !== 'running' && status !== 'stopping') return true;
    if (Date.now() >= deadline) return false;
    await sleep(100);
  }
}

async function stopOne(rec, seconds, signal) {
  if (rec.state === 'running' || rec.state === 'stopping') {
    if (signal) {
      await engineAsync(['kill', '-s', signal, rec.engineName]);
      if (!(await waitUntilStopped(rec.engineName, seconds * 1000))) {
        await engineAsync(['kill', '-s', 'KILL', rec.engineName]);
        await waitUntilStopped(rec.engineName, 10_000);
      }
    } else {
      const r = await engineAsync(['stop', '-t', String(seconds), rec.engineName]);
      if (r.code !== 0 && !(await waitUntilStopped(rec.engineName, 1000))) {
        throw cz('internalError', 'failed to stop container', cz('internalError', engineMessage(r)));
      }
    }
  }
  if (rec.stored.x.autoRemove && rec.startedMs !== undefined) await engineAsync(['rm', '-f', rec.engineName]);
}

function targetIds(opts) {
  const ids = [...new Set(opts.rest)];
  if (ids.length === 0 && !opts.all) fail('invalidArgument', 'no containers specified and --all not supplied');
  return ids;
}

/** Runs `work` for every ID in parallel, printing IDs in completion order; AggregateError at the end. */
async function forEachContainer(ids, records, work, notFound) {
  const byId = new Map(records.map((r) => [r.id, r]));
  const errors = [];
  await Promise.all(
    ids.map(async (id) => {
      const rec = byId.get(id);
      if (!rec) {
        if (notFound) errors.push(notFound(id));
        return;
      }
      try {
        await work(rec);
        out(`${id}\n`);
        flushOut();
      } catch (e) {
        if (e instanceof Exit) throw e;
        errors.push(e);
      }
    }),
  );
  if (errors.length) throw new Exit(1, aggregate(errors));
}

const ID_LIST = { positionals: [], rest: 'container-ids' };

commands.stop = async (argv) => {
  const spec = {
    usage: 'container stop [--all] [--signal <signal>] [--time <time>] [<container-ids> ...]',
    path: 'stop',
    options: [
      { key: 'all', names: ['-a', '--all'], type: 'flag' },
      { key: 'signal', names: ['-s', '--signal'], type: 'value', value: 'signal' },
      { key: 'time', names: ['-t', '--time'], type: 'value', value: 'time', check: (v) => /^-?\d+$/.test(v) },
    ],
    ...ID_LIST,
  };
  const opts = parseArgs(argv, spec);
  if (opts.help) return out(helpText(spec));
  let ids = targetIds(opts);
  requireSystem();
  const signal = opts.signal === undefined ? undefined : normalizeSignal(opts.signal);
  if (opts.signal !== undefined && !signal) fail('invalidArgument', `invalid signal ${opts.signal}`);
  const records = listRecords().filter((r) => !isMachine(r));
  if (opts.all) ids = records.map((r) => r.id);
  const seconds = opts.time === undefined ? 5 : Number(opts.time);
  await forEachContainer(
    ids,
    records,
    (rec) => stopOne(rec, seconds, signal),
    LOCALIZED ? (id) => cz('internalError', 'failed to stop container', cz('notFound', `container with ID ${id} not found`)) : null,
  );
  return 0;
};

commands.kill = async (argv) => {
  const spec = {
    usage: 'container kill [--all] [--signal <signal>] [<container-ids> ...]',
    path: 'kill',
    options: [
      { key: 'all', names: ['-a', '--all'], type: 'flag' },
      { key: 'signal', names: ['-s', '--signal'], type: 'value', value: 'signal' },
    ],
    ...ID_LIST,
  };
  const opts = parseArgs(argv, spec);
  if (opts.help) return out(helpText(spec));
  let ids = targetIds(opts);
  requireSystem();
  const signal = normalizeSignal(opts.signal ?? 'KILL');
  if (!signal) fail('invalidArgument', `invalid signal ${opts.signal}`);
  const records = listRecords().filter((r) => !isMachine(r));
  if (opts.all) ids = records.filter((r) => r.state === 'running').map((r) => r.id);
  await forEachContainer(
    ids,
    records,
    async (rec) => {
      if (rec.state !== 'running') {
        throw cz('internalError', 'failed to kill container', cz('invalidState', 'no runtime client exists: container is stopped'));
      }
      const r = await engineAsync(['kill', '-s', signal, rec.engineName]);
      if (r.code !== 0) throw cz('internalError', 'failed to kill container', cz('internalError', engineMessage(r)));
      if (signal === 'SIGKILL' || signal === '9') {
        await waitUntilStopped(rec.engineName, 10_000);
        if (rec.stored.x.autoRemove) await engineAsync(['rm', '-f', rec.engineName]);
      }
    },
    LOCALIZED ? (id) => cz('internalError', 'failed to kill container', cz('notFound', `container with ID ${id} not found`)) : null,
  );
  return 0;
};

commands.delete = async (argv) => {
  const spec = {
    usage: 'container delete [--all] [--force] [<container-ids> ...]',
    path: 'delete',
    options: [
      { key: 'all', names: ['-a', '--all'], type: 'flag' },
      { key: 'force', names: ['-f', '--force'], type: 'flag' },
    ],
    ...ID_LIST,
  };
  const opts = parseArgs(argv, spec);
  if (opts.help) return out(helpText(spec));
  let ids = targetIds(opts);
  requireSystem();
  const records = listRecords().filter((r) => !isMachine(r));
  if (opts.all) ids = records.filter((r) => opts.force || r.state !== 'running').map((r) => r.id);
  if (!LOCALIZED) {
    // Up to 0.9: one error for all the IDs that are missing or running.
    const known = new Set(records.map((r) => r.id));
    const missing = ids.filter((id) => !known.has(id));
    if (missing.length) fail('notFound', `failed to delete one or more containers: ${swiftArray(missing)}`);
    const running = records.filter((r) => ids.includes(r.id) && r.state !== 'stopped' && !opts.force).map((r) => r.id);
    if (running.length) fail('invalidState', `delete failed for one or more containers: ${swiftArray(running)}`);
  }
  await forEachContainer(
    ids,
    records,
    async (rec) => {
      if (rec.state !== 'stopped' && !opts.force) {
        throw cz('internalError', 'failed to delete container', cz('invalidState', `container ${rec.id} is ${rec.state} and can not be deleted`));
      }
      const r = await engineAsync(['rm', '-f', rec.engineName]);
      if (r.code !== 0 && !/no such container|no container with name/i.test(r.stderr)) {
        throw cz('internalError', 'failed to delete container', cz('internalError', engineMessage(r)));
      }
    },
    (id) => cz('internalError', 'failed to delete container', cz('notFound', `container with ID ${id} not found`)),
  );
  return 0;
};

commands.prune = async (argv) => {
  const spec = { usage: 'container prune', path: 'prune', options: [], positionals: [] };
  const opts = parseArgs(argv, spec);
  if (opts.help) return out(helpText(spec));
  requireSystem();
  const stopped = listRecords().filter((r) => r.state === 'stopped' && !isMachine(r));
  await forEachContainer(stopped.map((r) => r.id), stopped, async (rec) => {
    await engineAsync(['rm', '-f', rec.engineName]);
  });
  err('Reclaimed Zero KB in disk space\n');
  return 0;
};

// --- list / inspect

commands.list = async (argv) => {
  const spec = {
    usage: 'container list [--all] [--format <format>] [--quiet]',
    path: 'list',
    options: [{ key: 'all', names: ['-a', '--all'], type: 'flag' }, FORMAT_OPTION, QUIET_OPTION],
    positionals: [],
  };
  const opts = parseArgs(argv, spec);
  if (opts.help) return out(helpText(spec));
  const format = requireFormat(opts.format);
  const sys = requireSystem('list');
  const records = listRecords().filter((r) => !isMachine(r));
  const filterAll = format === 'json' && !atLeast('0.10.0') ? true : opts.all;
  const shown = filterAll ? records : records.filter((r) => r.state === 'running');
  if (opts.quiet) {
    out(shown.map((r) => `${r.id}\n`).join(''));
    return 0;
  }
  if (format === 'json') {
    out(`${encodeJson(shown.map((r) => renderContainer(r, sys)))}\n`);
    return 0;
  }
  const modernAddr = atLeast('0.8.0');
  const header = ['ID', 'IMAGE', 'OS', 'ARCH', 'STATE', MODERN ? 'IP' : 'ADDR', 'CPUS', 'MEMORY', ...(modernAddr ? ['STARTED'] : [])];
  const rows = shown.map((r) => {
    const c = r.stored.apple;
    const ips = attachments(r).map((a) => (modernAddr ? a.ipv4Address : a.address.split('/')[0])).join(',');
    const started = r.startedMs !== undefined && r.startedMs >= (sys.bootMs ?? 0) ? isoNoFraction(r.startedMs) : '';
    return [r.id, c.image.reference, c.platform.os, c.platform.architecture, r.state, ips, String(c.resources.cpus), `${c.resources.memoryInBytes / MIB} MB`, ...(modernAddr ? [started] : [])];
  });
  out(renderTable([header, ...rows]));
  return 0;
};

commands.inspect = async (argv) => {
  const spec = { usage: 'container inspect <container-ids> ...', path: 'inspect', options: [], positionals: [], rest: 'container-ids', minRest: 1 };
  const opts = parseArgs(argv, spec);
  if (opts.help) return out(helpText(spec));
  const sys = requireSystem();
  const ids = [...new Set(opts.rest)];
  const found = [];
  const missing = [];
  for (const id of ids) {
    const rec = getRecord(id);
    if (rec) found.push(rec);
    else missing.push(id);
  }
  if (missing.length && MODERN) fail('notFound', `container not found: ${missing.sort(byteCompare).join(', ')}`);
  out(`${encodeJson(found.map((r) => renderContainer(r, sys)), { pretty: MODERN })}\n`);
  return 0;
};

// --- exec / logs / cp

commands.exec = async (argv) => {
  const spec = {
    usage: 'container exec [<options>] <container-id> <arguments> ...',
    path: 'exec',
    options: [...PROCESS_OPTIONS, { key: 'detach', names: ['-d', '--detach'], type: 'flag' }],
    positionals: ['container-id'],
    rest: 'arguments',
    passthroughAfter: 1,
    minRest: 1,
  };
  const opts = parseArgs(argv, spec);
  if (opts.help) return out(helpText(spec));
  requireSystem();
  const id = opts._[0];
  const rec = getRecord(id);
  if (!rec) fail('notFound', `get failed: container ${id} not found`);
  if (rec.state !== 'running') fail('invalidState', `container ${id} is not running`);
  const args = ['exec'];
  if (opts.interactive) args.push('-i');
  if (opts.tty) args.push('-t');
  if (opts.detach) args.push('-d');
  for (const e of mergeEnv(envFromFiles(opts.envFile), envFromFlags(opts.env))) args.push('-e', e);
  if (opts.workdir) args.push('-w', opts.workdir);
  const user = opts.user ?? (opts.uid !== undefined || opts.gid !== undefined ? `${opts.uid ?? 0}:${opts.gid ?? 0}` : undefined);
  if (user) args.push('-u', user);
  args.push(rec.engineName, ...opts.rest);
  if (opts.detach) {
    const r = engine(args);
    if (r.code !== 0) fail('internalError', `failed to create process in container ${id}`, cz('internalError', engineMessage(r)));
    out(`${id}\n`);
    return 0;
  }
  return engineAttached(args, [opts.interactive ? 'inherit' : 'ignore', 'inherit', 'inherit']);
};

commands.logs = async (argv) => {
  const spec = {
    usage: 'container logs [--boot] [--follow] [-n <n>] <container-id>',
    path: 'logs',
    options: [
      { key: 'boot', names: ['--boot'], type: 'flag' },
      { key: 'follow', names: ['-f', '--follow'], type: 'flag' },
      { key: 'n', names: ['-n'], type: 'value', value: 'n', check: (v) => /^\d+$/.test(v) },
    ],
    positionals: ['container-id'],
  };
  const opts = parseArgs(argv, spec);
  if (opts.help) return out(helpText(spec));
  requireSystem();
  const id = opts._[0];
  const rec = getRecord(id);
  if (!rec) fail('internalError', `failed to get logs for container ${id}`, cz('notFound', `get failed: container ${id} not found`));
  if (opts.boot) return 0; // there is no VM boot log to show
  if (opts.follow) {
    const args = ['logs', '-f', ...(opts.n !== undefined ? ['--tail', opts.n] : []), rec.engineName];
    return engineAttached(args, ['ignore', 1, 1]);
  }
  // stdout and stderr share one file in Apple's runtime; one shared fd keeps their order.
  const tmp = path.join(os.tmpdir(), `acd-logs-${process.pid}-${randomBytes(4).toString('hex')}`);
  const fd = fs.openSync(tmp, 'w+', 0o600);
  try {
    const r = spawnSync(ENGINE, ['logs', rec.engineName], { env: ENV, stdio: ['ignore', fd, fd] });
    if (r.error) throw new Exit(1, `Error: container-double: cannot run ${ENGINE}: ${r.error.message}\n`);
    let text = fs.readFileSync(tmp, 'utf8');
    if (opts.n !== undefined) {
      const lines = text.split('\n').filter((l) => l.trim() !== '');
      const n = Number(opts.n);
      text = n === 0 ? '' : lines.slice(-n).map((l) => `${l}\n`).join('');
    }
    out(text);
  } finally {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
  }
  return 0;
};

function parsePathRef(ref) {
  const parts = ref.split(':');
  if (parts.length === 1) return { local: ref };
  if (parts.length === 2 && parts[0] !== '' && parts[1].startsWith('/')) return { id: parts[0], path: parts[1] };
  fail('invalidArgument', `invalid path given: ${ref}`);
}

commands.copy = async (argv) => {
  const spec = { usage: 'container copy <source> <destination>', path: 'copy', options: [], positionals: ['source', 'destination'] };
  const opts = parseArgs(argv, spec);
  if (opts.help) return out(helpText(spec));
  requireSystem();
  const src = parsePathRef(opts._[0]);
  const dst = parsePathRef(opts._[1]);
  if (src.id && dst.id) fail('invalidArgument', 'copying between containers is not supported');
  if (!src.id && !dst.id) fail('invalidArgument', 'one of source or destination must be a container reference (container_id:path)');
  const id = src.id ?? dst.id;
  const rec = getRecord(id);
  if (!rec) fail('notFound', `get failed: container ${id} not found`);
  if (rec.state !== 'running') fail('invalidState', `container ${id} is not running`);
  if (src.id) {
    const destPath = path.resolve(dst.local);
    let finalDest = destPath;
    let isDir = false;
    try {
      isDir = fs.statSync(destPath).isDirectory();
    } catch {
      isDir = false;
    }
    if (isDir) {
      const last = path.posix.basename(src.path);
      if (!last) fail('invalidArgument', `source path has no last component: ${src.path}`);
      finalDest = path.join(destPath, last);
    } else {
      fs.mkdirSync(path.dirname(destPath), { recursive: true });
    }
    const r = engine(['cp', `${rec.engineName}:${src.path}`, finalDest]);
    if (r.code !== 0) fail('internalError', `failed to copy from container ${id}`, cz('internalError', engineMessage(r)));
    if (dst.local.endsWith('/') && !isDir && fs.existsSync(destPath) && !fs.statSync(destPath).isDirectory()) {
      fs.rmSync(destPath, { force: true });
      fail('invalidArgument', `destination is not a directory: ${dst.local}`);
    }
    out(`${finalDest}\n`);
    return 0;
  }
  const srcPath = path.resolve(src.local);
  let stat;
  try {
    stat = fs.statSync(srcPath);
  } catch {
    fail('notFound', `source path does not exist: ${src.local}`);
  }
  if (src.local.endsWith('/') && !stat.isDirectory()) fail('invalidArgument', `source path is not a directory: ${src.local}`);
  const destPath = dst.path.endsWith('/') ? `${dst.path}${path.basename(srcPath)}` : dst.path;
  const parent = dst.path.endsWith('/') ? dst.path : path.posix.dirname(dst.path);
  engine(['exec', rec.engineName, 'mkdir', '-p', parent]);
  const r = engine(['cp', srcPath, `${rec.engineName}:${destPath}`]);
  if (r.code !== 0) fail('internalError', `failed to copy into container ${id}`, cz('internalError', engineMessage(r)));
  out(`${id}:${destPath}\n`);
  return 0;
};

// --- image

const imageCommands = {};

imageCommands.list = async (argv) => {
  const spec = {
    usage: 'container image list [--format <format>] [--quiet] [--verbose]',
    path: 'image list',
    options: [FORMAT_OPTION, QUIET_OPTION, { key: 'verbose', names: ['-v', '--verbose'], type: 'flag' }],
    positionals: [],
  };
  const opts = parseArgs(argv, spec);
  if (opts.help) return out(helpText(spec));
  const format = requireFormat(opts.format);
  if (opts.quiet && opts.verbose) throw usageExit('Cannot use flag --quiet and --verbose together', spec.usage, spec.path);
  if (!MODERN && format === 'json' && (opts.quiet || opts.verbose)) {
    throw usageExit('Cannot use flag --quiet or --verbose along with --format json', spec.usage, spec.path);
  }
  requireSystem();
  const images = listImages();
  if (format === 'json' && !opts.quiet) {
    const items = images.map(({ reference, info }) => {
      if (MODERN) return imageResource(reference, info);
      const item = { reference, descriptor: imageDescriptor(info) };
      if (atLeast('0.10.0')) item.fullSize = formatSize(info.Size ?? 0);
      return item;
    });
    out(`${encodeJson(items)}\n`);
    return 0;
  }
  if (opts.quiet) {
    out(images.map((i) => `${denormalizeReference(i.reference)}\n`).join(''));
    return 0;
  }
  const split = (ref) => {
    const d = denormalizeReference(ref);
    const at = d.indexOf('@');
    const base = at === -1 ? d : d.slice(0, at);
    const colon = base.lastIndexOf(':');
    return colon > base.lastIndexOf('/') ? [base.slice(0, colon), base.slice(colon + 1)] : [base, '<none>'];
  };
  if (opts.verbose) {
    const header = ['NAME', 'TAG', 'INDEX DIGEST', 'OS', 'ARCH', 'VARIANT', 'FULL SIZE', 'CREATED', 'MANIFEST DIGEST'];
    const rows = images.map(({ reference, info }) => {
      const [name, tag] = split(reference);
      const d = imageDescriptor(info);
      const p = imagePlatform(info);
      const created = Date.parse(info.Created ?? '');
      return [name, tag, d.digest.replace(/^sha256:/, '').slice(0, 12), p.os, p.architecture, p.variant ?? '', formatSize(info.Size ?? 0), Number.isNaN(created) ? '' : isoNoFraction(created), d.digest.replace(/^sha256:/, '').slice(0, 12)];
    });
    out(renderTable([header, ...rows]));
    return 0;
  }
  const rows = images.map(({ reference, info }) => [...split(reference), imageDescriptor(info).digest.replace(/^sha256:/, '').slice(0, 12)]);
  out(renderTable([['NAME', 'TAG', 'DIGEST'], ...rows]));
  return 0;
};

imageCommands.inspect = async (argv) => {
  const spec = { usage: 'container image inspect <images> ...', path: 'image inspect', options: [], positionals: [], rest: 'images', minRest: 1 };
  const opts = parseArgs(argv, spec);
  if (opts.help) return out(helpText(spec));
  requireSystem();
  const found = [];
  const missing = [];
  for (const ref of opts.rest) {
    const image = resolveImage(ref);
    if (image) found.push(imageResource(image.reference, image.info));
    else missing.push(ref);
  }
  if (missing.length && MODERN) fail('notFound', `image not found: ${missing.join(', ')}`);
  if (missing.length) {
    // 0.9 to 0.12: a log line per missing image, then the InspectError itself, described by
    // Swift (ImageInspect.swift@0.9.0 lines 58-71, @0.12.3 line 59): the shape from the source,
    // not captured bytes. "Image not found" is capitalised there.
    const logLines = missing.map((ref) => `${ref}: Image not found\n`).join('');
    const failed = missing.map((ref) => `("${ref}", notFound: "Image not found")`).join(', ');
    if (found.length) out(`${encodeJson(found)}\n`);
    throw new Exit(1, `${logLines}Error: InspectError(succeeded: ${swiftArray([])}, failed: [${failed}])\n`);
  }
  out(`${encodeJson(found, { pretty: MODERN })}\n`);
  return 0;
};

imageCommands.pull = async (argv) => {
  const spec = {
    usage: 'container image pull [<options>] <reference>',
    path: 'image pull',
    options: [
      ...PROGRESS_OPTIONS,
      { key: 'scheme', names: ['--scheme'], type: 'value', choices: ['http', 'https', 'auto'] },
      { key: 'maxConcurrentDownloads', names: ['--max-concurrent-downloads'], type: 'value' },
      { key: 'arch', names: ['-a', '--arch'], type: 'value' },
      { key: 'os', names: ['--os'], type: 'value' },
      { key: 'platform', names: ['--platform'], type: 'value' },
    ],
    positionals: ['reference'],
  };
  const opts = parseArgs(argv, spec);
  if (opts.help) return out(helpText(spec));
  requireSystem();
  if (!resolveImage(opts._[0])) fail('internalError', pullFailureMessage(opts._[0]));
  return 0;
};

imageCommands.tag = async (argv) => {
  const spec = { usage: 'container image tag <source> <target>', path: 'image tag', options: [], positionals: ['source', 'target'] };
  const opts = parseArgs(argv, spec);
  if (opts.help) return out(helpText(spec));
  requireSystem();
  const image = resolveImage(opts._[0]);
  if (!image) fail('notFound', `image with reference ${opts._[0]}`);
  const target = normalizeReference(opts._[1]);
  const engineTarget = !IS_DOCKER && target.startsWith('docker.io/') ? engineCandidates(target).at(-1) : target;
  const r = engine(['tag', image.engineRef, engineTarget]);
  if (r.code !== 0) fail('internalError', `failed to tag image ${opts._[0]}`, engineMessage(r));
  out(`${opts._[1]}\n`);
  return 0;
};

commands.image = (argv) => dispatchGroup('image', argv, imageCommands, { ls: 'list', i: 'inspect' });

// --- build

commands.build = async (argv) => {
  const spec = {
    usage: 'container build [<options>] [<context-dir>]',
    path: 'build',
    options: [
      { key: 'tag', names: ['-t', '--tag'], type: 'array' },
      { key: 'file', names: ['-f', '--file'], type: 'value' },
      { key: 'buildArg', names: ['--build-arg'], type: 'array' },
      { key: 'label', names: ['-l', '--label'], type: 'array' },
      { key: 'noCache', names: ['--no-cache'], type: 'flag' },
      { key: 'output', names: ['-o', '--output'], type: 'array' },
      { key: 'arch', names: ['-a', '--arch'], type: 'value' },
      { key: 'os', names: ['--os'], type: 'value' },
      { key: 'platform', names: ['--platform'], type: 'value' },
      { key: 'target', names: ['--target'], type: 'value' },
      { key: 'pull', names: ['--pull'], type: 'flag' },
      { key: 'quiet', names: ['-q', '--quiet'], type: 'flag' },
      { key: 'secret', names: ['--secret'], type: 'array' },
      { key: 'ssh', names: ['--ssh'], type: 'array' },
      { key: 'cpus', names: ['-c', '--cpus'], type: 'value' },
      { key: 'memory', names: ['-m', '--memory'], type: 'value' },
      { key: 'dns', names: ['--dns'], type: 'array' },
      { key: 'progress', names: ['--progress'], type: 'value', choices: ['auto', 'plain', 'tty'] },
      { key: 'vsockPort', names: ['--vsock-port'], type: 'value' },
    ],
    positionals: [],
    rest: 'context-dir',
  };
  const opts = parseArgs(argv, spec);
  if (opts.help) return out(helpText(spec));
  requireSystem();
  const context = opts.rest[0] ?? '.';
  const args = ['build'];
  for (const t of opts.tag) args.push('-t', t);
  if (opts.file) args.push('-f', opts.file);
  for (const a of opts.buildArg) args.push('--build-arg', a);
  for (const l of opts.label) args.push('--label', l);
  if (opts.noCache) args.push('--no-cache');
  for (const o of opts.output) args.push('--output', o);
  if (opts.platform) args.push('--platform', opts.platform);
  else if (opts.arch || opts.os) args.push('--platform', `${opts.os ?? 'linux'}/${opts.arch ?? os.arch().replace('x64', 'amd64')}`);
  if (opts.target) args.push('--target', opts.target);
  if (opts.quiet) args.push('-q');
  for (const s of opts.secret) args.push('--secret', s);
  if (!IS_DOCKER) for (const s of opts.ssh) args.push('--ssh', s);
  args.push(context);
  // Build logs go to stderr; Apple's build prints nothing useful on stdout (§3.9).
  const code = await engineAttached(args, ['ignore', 2, 2]);
  if (code !== 0) fail('internalError', 'build failed', `${ENGINE} build exited with status ${code}`);
  return 0;
};

// --- network

const networkCommands = {};
const NETWORK_NAME_RE = /^[a-z0-9](?:[a-z0-9._-]{0,61}[a-z0-9])?$/;

networkCommands.create = async (argv) => {
  const spec = {
    usage: 'container network create [<options>] <name>',
    path: 'network create',
    options: [
      { key: 'internal', names: ['--internal'], type: 'flag', since: gate('network create.internal') },
      { key: 'label', names: ['--label'], type: 'array', since: gate('network create.label') },
      { key: 'option', names: ['--option'], type: 'array' },
      { key: 'plugin', names: ['--plugin'], type: 'value' },
      { key: 'subnet', names: ['--subnet'], type: 'value' },
      { key: 'subnetV6', names: ['--subnet-v6'], type: 'value', since: '0.8.0' },
    ],
    positionals: ['name'],
  };
  const opts = parseArgs(argv, spec);
  if (opts.help) return out(helpText(spec));
  requireSystem();
  const name = opts._[0];
  if (!NETWORK_NAME_RE.test(name)) fail('invalidArgument', `invalid network name: ${name}`);
  if (name === 'default' || findNetwork(name)) fail('exists', `network ${name} already exists`);
  const labels = {};
  for (const l of opts.label) {
    const eq = l.indexOf('=');
    labels[eq === -1 ? l : l.slice(0, eq)] = eq === -1 ? '' : l.slice(eq + 1);
  }
  const options = {};
  for (const o of opts.option) {
    const eq = o.indexOf('=');
    options[eq === -1 ? o : o.slice(0, eq)] = eq === -1 ? '' : o.slice(eq + 1);
  }
  if (opts.subnet !== undefined && !parseCidr(opts.subnet)) fail('invalidArgument', `invalid IPv4 subnet ${opts.subnet}`);
  if (opts.subnet) {
    for (const n of listNetworks()) {
      if (n.subnet && cidrOverlap(n.subnet, opts.subnet)) fail('invalidArgument', `IPv4 subnet ${opts.subnet} overlaps an existing network with subnet ${n.subnet}`);
    }
  }
  const config = { creationMs: Date.now(), labels, options, plugin: opts.plugin ?? 'container-network-vmnet', ipv4Subnet: opts.subnet, ipv6Subnet: opts.subnetV6, internal: opts.internal === true };
  const base = ['network', 'create', '--label', `${LABEL}=1`, '--label', `${LABEL_STATE}=${HASH}`, '--label', `${LABEL_CONFIG}=${JSON.stringify(config)}`];
  if (IS_DOCKER) base.push('-o', `com.docker.network.driver.mtu=${DEFAULT_MTU}`);
  else base.push('--disable-dns', '-o', `mtu=${DEFAULT_MTU}`);
  // apple/container#2062 (open in 1.2.x): a hostOnly guest keeps its default route, so raw-IP TCP
  // still leaves it. The double reproduces that with an engine network that routes out, unless
  // CONTAINER_DOUBLE_HOSTONLY_ISOLATES=1 asks for the behaviour the bug's fix would give.
  if (opts.internal && ENV.CONTAINER_DOUBLE_HOSTONLY_ISOLATES === '1') base.push('--internal');
  if (opts.subnetV6) base.push('--ipv6', '--subnet', opts.subnetV6);
  const engineName = engineNetworkName(name);
  let r;
  if (opts.subnet) {
    r = engine([...base, '--subnet', opts.subnet, ...(opts.internal && !IS_DOCKER ? ['--gateway', gatewayFor(opts.subnet)] : []), engineName]);
  } else if (opts.internal && !IS_DOCKER) {
    // podman gives an internal network no gateway address on the host unless one is set, and Apple's
    // hostOnly networks stay reachable from the host: pick a free /24 and set its gateway.
    const used = usedSubnets();
    for (let third = 255; third >= 128; third--) {
      const subnet = `10.89.${third}.0/24`;
      if (used.some((u) => cidrOverlap(u, subnet))) continue;
      r = engine([...base, '--subnet', subnet, '--gateway', gatewayFor(subnet), engineName]);
      if (r.code === 0 || !/already used|overlap|in use/i.test(r.stderr)) break;
    }
  } else {
    r = engine([...base, engineName]);
  }
  if (!r || r.code !== 0) {
    const message = r ? engineMessage(r) : 'no free subnet';
    if (opts.subnet && /overlap|already used/i.test(message)) {
      const other = usedSubnets().find((u) => cidrOverlap(u, opts.subnet)) ?? opts.subnet;
      fail('invalidArgument', `IPv4 subnet ${opts.subnet} overlaps an existing network with subnet ${other}`);
    }
    if (/already exists/i.test(message)) fail('exists', `network ${name} already exists`);
    fail('internalError', `failed to create network ${name}`, message);
  }
  out(`${name}\n`);
  return 0;
};

networkCommands.list = async (argv) => {
  const spec = { usage: 'container network list [--format <format>] [--quiet]', path: 'network list', options: [FORMAT_OPTION, QUIET_OPTION], positionals: [] };
  const opts = parseArgs(argv, spec);
  if (opts.help) return out(helpText(spec));
  const format = requireFormat(opts.format);
  requireSystem();
  const networks = listNetworks();
  if (opts.quiet) {
    out(networks.map((n) => `${n.appleName}\n`).join(''));
    return 0;
  }
  if (format === 'json') {
    out(`${encodeJson(networks.map(networkResource))}\n`);
    return 0;
  }
  const rows = networks.map((n) => {
    const status = networkResource(n).status;
    const subnet = status.ipv4Subnet ?? status.address ?? '';
    return MODERN ? [n.appleName, subnet] : [n.appleName, 'running', subnet];
  });
  out(renderTable([MODERN ? ['NETWORK', 'SUBNET'] : ['NETWORK', 'STATE', 'SUBNET'], ...rows]));
  return 0;
};

networkCommands.inspect = async (argv) => {
  const spec = { usage: 'container network inspect <networks> ...', path: 'network inspect', options: [], positionals: [], rest: 'networks', minRest: 1 };
  const opts = parseArgs(argv, spec);
  if (opts.help) return out(helpText(spec));
  requireSystem();
  const found = [];
  const missing = [];
  for (const name of [...new Set(opts.rest)]) {
    const n = findNetwork(name);
    if (n) found.push(networkResource(n));
    else missing.push(name);
  }
  if (missing.length && MODERN) fail('notFound', `network not found: ${missing.join(', ')}`);
  out(`${encodeJson(found, { pretty: MODERN })}\n`);
  return 0;
};

networkCommands.delete = async (argv) => {
  const spec = {
    usage: 'container network delete [--all] [<network-names> ...]',
    path: 'network delete',
    options: [{ key: 'all', names: ['-a', '--all'], type: 'flag' }],
    positionals: [],
    rest: 'network-names',
  };
  const opts = parseArgs(argv, spec);
  if (opts.help) return out(helpText(spec));
  if (opts.rest.length === 0 && !opts.all) fail('invalidArgument', 'no networks specified and --all not supplied');
  requireSystem();
  const networks = listNetworks();
  const names = opts.all ? networks.filter((n) => !n.builtin).map((n) => n.appleName) : [...new Set(opts.rest)];
  if (names.includes('default')) fail('invalidArgument', 'cannot delete a builtin network: default');
  const known = new Map(networks.map((n) => [n.appleName, n]));
  const missing = names.filter((n) => !known.has(n));
  if (missing.length) fail('notFound', `failed to delete one or more networks: ${swiftArray(missing)}`);
  const records = listRecords();
  const failed = [];
  for (const name of names) {
    const users = records.filter((r) => r.stored.apple.networks.some((n) => n.network === name)).map((r) => r.id);
    if (users.length) {
      err(`cannot delete subnet ${name} with referring containers: ${users.join(', ')}\n`);
      failed.push(name);
      continue;
    }
    const r = engine(['network', 'rm', engineNetworkName(name)]);
    if (r.code !== 0) {
      failed.push(name);
      continue;
    }
    out(`${name}\n`);
  }
  if (failed.length) fail('internalError', `delete failed for one or more networks: ${swiftArray(failed)}`);
  return 0;
};

networkCommands.prune = async (argv) => {
  const spec = { usage: 'container network prune', path: 'network prune', options: [], positionals: [] };
  const opts = parseArgs(argv, spec);
  if (opts.help) return out(helpText(spec));
  requireSystem();
  const records = listRecords();
  for (const n of listNetworks()) {
    if (n.builtin || records.some((r) => r.stored.apple.networks.some((a) => a.network === n.appleName))) continue;
    if (engine(['network', 'rm', n.name]).code === 0) out(`${n.appleName}\n`);
  }
  return 0;
};

commands.network = (argv) => {
  if (MACOS < 26) throw pluginNotFound('network');
  return dispatchGroup('network', argv, networkCommands, { ls: 'list', rm: 'delete' });
};

// --- volume

const volumeCommands = {};

volumeCommands.create = async (argv) => {
  const spec = {
    usage: 'container volume create [<options>] <name>',
    path: 'volume create',
    options: [
      { key: 'label', names: ['--label'], type: 'array' },
      { key: 'opt', names: ['--opt'], type: 'array' },
      { key: 'size', names: ['-s'], type: 'value' },
    ],
    positionals: ['name'],
  };
  const opts = parseArgs(argv, spec);
  if (opts.help) return out(helpText(spec));
  requireSystem();
  const name = opts._[0];
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) fail('invalidArgument', `invalid volume name ${name}`);
  if (inspectVolume(name)) fail('exists', `volume ${name} already exists`);
  const kv = (list) => Object.fromEntries(list.map((l) => (l.includes('=') ? [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] : [l, ''])));
  const options = kv(opts.opt);
  const sizeText = opts.size ?? options.size;
  createVolume(name, { creationMs: Date.now(), labels: kv(opts.label), options, sizeInBytes: sizeText ? Math.floor(parseMemory(sizeText)) : undefined });
  out(`${name}\n`);
  return 0;
};

volumeCommands.list = async (argv) => {
  const spec = { usage: 'container volume list [--format <format>] [--quiet]', path: 'volume list', options: [FORMAT_OPTION, QUIET_OPTION], positionals: [] };
  const opts = parseArgs(argv, spec);
  if (opts.help) return out(helpText(spec));
  const format = requireFormat(opts.format);
  const sys = requireSystem();
  const volumes = listVolumes().sort((a, b) => byteCompare(a.name, b.name));
  if (opts.quiet) {
    out(volumes.map((v) => `${v.name}\n`).join(''));
    return 0;
  }
  if (format === 'json') {
    out(`${encodeJson(volumes.map((v) => volumeResource(sys, v)))}\n`);
    return 0;
  }
  const rows = volumes.map((v) => {
    const anonymous = 'com.apple.container.resource.anonymous' in (v.config.labels ?? {});
    const options = Object.entries(v.config.options ?? {}).map(([k, val]) => `${k}=${val}`).join(',');
    return [v.name, anonymous ? 'anonymous' : 'named', 'local', options];
  });
  out(renderTable([['NAME', 'TYPE', 'DRIVER', 'OPTIONS'], ...rows]));
  return 0;
};

volumeCommands.inspect = async (argv) => {
  const spec = { usage: 'container volume inspect <names> ...', path: 'volume inspect', options: [], positionals: [], rest: 'names', minRest: 1 };
  const opts = parseArgs(argv, spec);
  if (opts.help) return out(helpText(spec));
  const sys = requireSystem();
  const found = [];
  for (const name of opts.rest) {
    const v = inspectVolume(name);
    if (!v) fail('notFound', `volume not found: ${name}`);
    found.push(volumeResource(sys, v));
  }
  out(`${encodeJson(found, { pretty: MODERN })}\n`);
  return 0;
};

volumeCommands.delete = async (argv) => {
  const spec = {
    usage: 'container volume delete [--all] [<names> ...]',
    path: 'volume delete',
    options: [{ key: 'all', names: ['-a', '--all'], type: 'flag' }],
    positionals: [],
    rest: 'names',
  };
  const opts = parseArgs(argv, spec);
  if (opts.help) return out(helpText(spec));
  if (opts.rest.length === 0 && !opts.all) fail('invalidArgument', 'no volumes specified and --all not supplied');
  requireSystem();
  const volumes = listVolumes();
  const names = opts.all ? volumes.map((v) => v.name) : [...new Set(opts.rest)];
  const missing = names.filter((n) => !volumes.some((v) => v.name === n));
  if (missing.length) fail('notFound', `failed to delete one or more volumes: ${swiftArray(missing)}`);
  const records = listRecords();
  const failed = [];
  for (const name of names) {
    const inUse = records.some((r) => r.stored.apple.mounts.some((m) => m.type.volume?.name === name));
    if (inUse) {
      err(`volume '${name}' is currently in use and cannot be accessed by another container, or deleted\n`);
      failed.push(name);
      continue;
    }
    if (engine(['volume', 'rm', engineVolumeName(name)]).code !== 0) {
      failed.push(name);
      continue;
    }
    out(`${name}\n`);
  }
  if (failed.length) fail('internalError', `delete failed for one or more volumes: ${swiftArray(failed)}`);
  return 0;
};

volumeCommands.prune = async (argv) => {
  const spec = { usage: 'container volume prune', path: 'volume prune', options: [], positionals: [] };
  const opts = parseArgs(argv, spec);
  if (opts.help) return out(helpText(spec));
  requireSystem();
  const records = listRecords();
  for (const v of listVolumes()) {
    if (records.some((r) => r.stored.apple.mounts.some((m) => m.type.volume?.name === v.name))) continue;
    if (engine(['volume', 'rm', engineVolumeName(v.name)]).code === 0) out(`${v.name}\n`);
  }
  return 0;
};

commands.volume = (argv) => {
  if (!atLeast('0.4.0')) throw pluginNotFound('volume');
  return dispatchGroup('volume', argv, volumeCommands, { ls: 'list', rm: 'delete' });
};

// --- system

const systemCommands = {};

function swiftLog(level, message, metadata) {
  const now = new Date();
  const ts = `${now.toISOString().replace(/\.\d{3}Z$/, '')}+0000`;
  const meta = metadata ? ` ${Object.entries(metadata).map(([k, v]) => `${k}=${v}`).join(' ')}` : '';
  return `${ts} ${level} com.apple.container.cli :${meta} [ContainerCommands] ${message}\n`;
}

function readAnswer() {
  flushOut();
  const buffer = Buffer.alloc(1);
  let line = '';
  for (;;) {
    let n;
    try {
      n = fs.readSync(0, buffer, 0, 1, null);
    } catch (e) {
      if (e.code === 'EAGAIN') continue;
      return null;
    }
    if (n === 0) return line === '' ? null : line;
    const ch = buffer.toString('utf8');
    if (ch === '\n') return line;
    line += ch;
  }
}

systemCommands.start = async (argv) => {
  const spec = {
    usage: 'container system start [<options>]',
    path: 'system start',
    options: [
      { key: 'appRoot', names: ['-a', '--app-root'], type: 'value' },
      { key: 'installRoot', names: ['--install-root'], type: 'value' },
      { key: 'logRoot', names: ['--log-root'], type: 'value' },
      { key: 'enableKernel', names: ['--enable-kernel-install'], type: 'flag' },
      { key: 'disableKernel', names: ['--disable-kernel-install'], type: 'flag' },
      { key: 'timeout', names: ['--timeout'], type: 'value', value: 'timeout', check: (v) => /^\d+$/.test(v), since: gate('system start.timeout') },
    ],
    positionals: [],
  };
  const opts = parseArgs(argv, spec);
  if (opts.help) return out(helpText(spec));
  if (opts.enableKernel && opts.disableKernel) {
    throw usageExit("Value to be set with flag '--disable-kernel-install' had already been set with flag '--enable-kernel-install'", spec.usage, spec.path);
  }
  const progress = (line) => (MODERN ? err(`${line}\n`) : out(`${line}\n`));
  const sys = readSystem();
  const wasRunning = sys.running === true;
  progress('Launching container-apiserver...');
  progress(MODERN ? 'Testing access to container-apiserver...' : 'Verifying apiserver is running...');
  if (MODERN) progress('Verifying machine API server is running...');
  if (!wasRunning) {
    // A fresh apiserver: every container comes back stopped, start dates are forgotten and
    // leftover --rm containers are reaped (ContainersService.loadAtBoot).
    for (const rec of listRecordsRaw()) {
      if (rec.state === 'running') engine(['stop', '-t', '0', rec.engineName]);
      if (rec.stored.x.autoRemove && (rec.startedMs !== undefined || rec.state === 'running')) engine(['rm', '-f', rec.engineName]);
    }
    sys.bootMs = Date.now();
  }
  sys.registered = true;
  sys.running = true;
  if (opts.appRoot) sys.appRoot = `${path.resolve(opts.appRoot)}/`;
  if (opts.installRoot) sys.installRoot = `${path.resolve(opts.installRoot)}/`;
  if (opts.logRoot) sys.logRoot = `${path.resolve(opts.logRoot)}/`;
  ensureDefaultNetwork();
  if (!sys.vminitInstalled) {
    progress('Installing base container filesystem...');
    sys.vminitInstalled = true;
  }
  writeSystem(sys);
  if (!kernelInstalled(sys)) {
    if (opts.enableKernel) {
      progress('Installing kernel...');
      sys.kernelInstalled = true;
      writeSystem(sys);
    } else if (!opts.disableKernel) {
      out(`Install the recommended default kernel from [${KERNEL_URL}]? [Y/n]: `);
      const answer = readAnswer();
      if (answer === null) fail('invalidArgument', 'failed to read user input');
      if (answer.trim() === '' || /^y(es)?$/i.test(answer.trim())) {
        progress('Installing kernel...');
        sys.kernelInstalled = true;
        writeSystem(sys);
      }
    }
  }
  return 0;
};

/** Like listRecords but without hiding or reaping (system start needs to see everything). */
function listRecordsRaw() {
  const r = engine(['ps', '-a', '-q', '--no-trunc', '--filter', `label=${LABEL_STATE}=${HASH}`]);
  return inspectRecords(r.stdout.split('\n').map((s) => s.trim()).filter(Boolean));
}

systemCommands.stop = async (argv) => {
  const spec = { usage: 'container system stop [--prefix <prefix>]', path: 'system stop', options: [{ key: 'prefix', names: ['-p', '--prefix'], type: 'value' }], positionals: [] };
  const opts = parseArgs(argv, spec);
  if (opts.help) return out(helpText(spec));
  const prefix = opts.prefix ?? 'com.apple.container.';
  const sys = readSystem();
  const label = `gui/${process.getuid?.() ?? 501}/${prefix}apiserver`;
  out(swiftLog('info', 'checking if APIServer is alive'));
  if (sys.running) {
    out(swiftLog('info', 'stopping containers', { stopTimeoutSeconds: 5 }));
    const records = listRecords().filter((r) => !isMachine(r));
    await forEachContainer(records.map((r) => r.id), records, (rec) => stopOne(rec, 5));
    out(swiftLog('info', 'waiting for containers to exit'));
    out(swiftLog('info', 'stopping service', { label }));
  } else {
    out(swiftLog('info', 'APIServer health check failed, skipping bootout'));
  }
  writeSystem({ ...sys, registered: false, running: false });
  return 0;
};

systemCommands.status = async (argv) => {
  const spec = {
    usage: 'container system status [--prefix <prefix>] [--format <format>]',
    path: 'system status',
    options: [{ key: 'prefix', names: ['-p', '--prefix'], type: 'value' }, { ...FORMAT_OPTION, since: '0.10.0' }],
    positionals: [],
  };
  const opts = parseArgs(argv, spec);
  if (opts.help) return out(helpText(spec));
  const format = requireFormat(opts.format);
  const sys = readSystem();
  const apiVersion = `container-apiserver version ${VERSION} (build: release, commit: ${SHORT_COMMIT})`;
  if (!sys.running) {
    const registered = sys.registered === true;
    if (format === 'json') {
      const value = { apiServerAppName: '', apiServerBuild: '', apiServerCommit: '', apiServerVersion: '', appRoot: '', installRoot: '', status: registered ? 'not running' : 'unregistered' };
      out(`${encodeJson(value)}\n`);
    } else {
      out(registered ? 'apiserver is not running\n' : 'apiserver is not running and not registered with launchd\n');
    }
    return 1;
  }
  if (format === 'json') {
    const value = {
      apiServerAppName: 'container-apiserver',
      apiServerBuild: 'release',
      apiServerCommit: COMMIT,
      apiServerVersion: apiVersion,
      appRoot: appRoot(sys),
      installRoot: installRoot(sys),
      logRoot: sys.logRoot,
      status: 'running',
    };
    out(`${encodeJson(value)}\n`);
    return 0;
  }
  if (atLeast('0.10.0')) {
    out(
      renderTable([
        ['FIELD', 'VALUE'],
        ['status', 'running'],
        ['appRoot', appRoot(sys)],
        ['installRoot', installRoot(sys)],
        ['logRoot', sys.logRoot ?? ''],
        ['apiserver.version', apiVersion],
        ['apiserver.commit', COMMIT],
        ['apiserver.build', 'release'],
        ['apiserver.appName', 'container-apiserver'],
      ]),
    );
  } else if (atLeast('0.4.0')) {
    out(
      `apiserver is running\napplication data root: ${appRoot(sys)}\napplication install root: ${installRoot(sys)}\n` +
        `container-apiserver version: ${apiVersion}\ncontainer-apiserver commit: ${COMMIT}\n`,
    );
  } else {
    out('Verifying apiserver is running...\napiserver is running\n');
  }
  return 0;
};

systemCommands.version = async (argv) => {
  const spec = { usage: 'container system version [--format <format>]', path: 'system version', options: [FORMAT_OPTION], positionals: [] };
  const opts = parseArgs(argv, spec);
  if (opts.help) return out(helpText(spec));
  const format = requireFormat(opts.format);
  const sys = readSystem();
  const rows = [{ appName: 'container', buildType: 'release', commit: COMMIT, version: VERSION }];
  if (sys.running) {
    rows.push({ appName: 'container-apiserver', buildType: 'release', commit: COMMIT, version: `container-apiserver version ${VERSION} (build: release, commit: ${SHORT_COMMIT})` });
  }
  if (format === 'json') {
    out(`${encodeJson(rows)}\n`);
    return 0;
  }
  out(renderTable([['COMPONENT', 'VERSION', 'BUILD', 'COMMIT'], ...rows.map((r) => [r.appName, r.version, r.buildType, r.commit])]));
  return 0;
};

commands.system = (argv) => {
  const available = { ...systemCommands };
  if (!atLeast('0.12.0')) delete available.version;
  if (!atLeast('0.2.0')) delete available.status;
  return dispatchGroup('system', argv, available, {});
};

// --- dispatch

async function dispatchGroup(group, argv, table, aliases) {
  const [word, ...rest] = argv;
  const usage = `container ${group} <subcommand>`;
  if (word === undefined || word === '--help' || word === '-h') {
    out(`USAGE: ${usage}\n\nSUBCOMMANDS: ${Object.keys(table).join(', ')}\n`);
    return 0;
  }
  const name = aliases[word] ?? word;
  const handler = Object.hasOwn(table, name) ? table[name] : undefined;
  if (!handler) {
    if (word.startsWith('-')) throw usageExit(`Unknown option '${word}'`, usage, group);
    if (['push', 'save', 'load', 'delete', 'rm', 'prune', 'dns', 'logs', 'df', 'property', 'kernel'].includes(word)) {
      throw notEmulated(`container ${group} ${word}`);
    }
    throw usageExit(`Unexpected argument '${word}'`, usage, group);
  }
  return handler(rest);
}

const ALIASES = { cp: 'copy', rm: 'delete', ls: 'list', i: 'image', n: 'network', s: 'system', v: 'volume' };
const NOT_EMULATED = ['export', 'stats', 'registry', 'r', 'machine', 'm', 'builder'];

function rootHelp() {
  return (
    'OVERVIEW: A container platform for macOS (container-double: a test double on Linux)\n\n' +
    'USAGE: container [--debug] <subcommand>\n\n' +
    'OPTIONS:\n  --debug                 Enable debug output [environment: CONTAINER_DEBUG]\n  --version               Show the version.\n  -h, --help              Show help information.\n\n' +
    'CONTAINER SUBCOMMANDS:\n  copy, create, delete, exec, inspect, kill, list, logs, run, start, stop, prune\n\n' +
    'IMAGE SUBCOMMANDS:\n  build, image\n\nVOLUME SUBCOMMANDS:\n  volume\n\nOTHER SUBCOMMANDS:\n  network, system\n\nPLUGINS:\n\n'
  );
}

async function main(argv) {
  let args = argv;
  while (args[0] === '--debug') args = args.slice(1);
  const [word, ...rest] = args;
  if (word === undefined || word === '--help' || word === '-h' || word === 'help') {
    out(rootHelp());
    return 0;
  }
  if (word === '--version') {
    out(`container CLI version ${VERSION} (build: release, commit: ${SHORT_COMMIT})\n`);
    return 0;
  }
  if (word === '--generate-completion-script') throw notEmulated('--generate-completion-script');
  if (word.startsWith('-')) throw usageExit(`Unknown option '${word}'`, 'container [--debug] <subcommand>', '');
  const name = ALIASES[word] ?? word;
  if (NOT_EMULATED.includes(word)) throw notEmulated(`container ${word}`);
  const gated = { copy: '1.0.0', prune: '0.9.0', network: '0.2.0', volume: '0.4.0' };
  const handler = Object.hasOwn(commands, name) && (!gated[name] || atLeast(gated[name])) ? commands[name] : undefined;
  if (!handler) {
    // Unknown words are plugin names (DefaultCommand): container-<word> from the plugin directories.
    throw pluginNotFound(word);
  }
  return handler(rest);
}

try {
  const code = await main(process.argv.slice(2));
  flushOut();
  process.exitCode = typeof code === 'number' ? code : 0;
} catch (e) {
  if (e instanceof Exit) {
    flushOut();
    if (e.stderr) fs.writeSync(2, e.stderr);
    process.exitCode = e.exitCode;
  } else {
    flushOut();
    fs.writeSync(2, `Error: container-double internal error: ${e?.stack ?? e}\n`);
    process.exitCode = 1;
  }
}
