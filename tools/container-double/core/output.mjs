// @ts-check
// Output: the writer every command prints through, Swift's JSONEncoder, the table renderer and dates.

import fs from 'node:fs';

/**
 * Where a command prints. Stdout is held until the command ends (or until stderr is written, or a
 * child takes over the terminal), so that the two streams keep the order Apple's CLI gives them.
 */
export class Writer {
  /**
   * @param {number} [stdoutFd]
   * @param {number} [stderrFd]
   */
  constructor(stdoutFd = 1, stderrFd = 2) {
    this.stdoutFd = stdoutFd;
    this.stderrFd = stderrFd;
    this.pending = '';
  }

  /** @param {string} text */
  out(text) {
    this.pending += text;
  }

  /** @param {string} text */
  err(text) {
    this.flush();
    fs.writeSync(this.stderrFd, text);
  }

  flush() {
    if (this.pending) {
      fs.writeSync(this.stdoutFd, this.pending);
      this.pending = '';
    }
  }
}

/**
 * Byte order of UTF-8, as Swift sorts keys and the CLI sorts names.
 * @param {string} a
 * @param {string} b
 */
export function byteCompare(a, b) {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/**
 * @template T
 * @param {T[]} items
 */
function shuffled(items) {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = /** @type {[T, T]} */ ([out[j], out[i]]);
  }
  return out;
}

/** @param {string} text */
function jsonString(text) {
  return JSON.stringify(text).replace(/\//g, '\\/');
}

/**
 * Swift JSONEncoder output (§3.1): `/` escaped, nil omitted, sorted keys (1.x) or unordered keys
 * (0.x, shuffled per process), pretty form with two-space indent and `"key" : value`.
 * @param {unknown} value
 * @param {{ pretty?: boolean, sorted: boolean }} options
 */
export function encodeJson(value, { pretty = false, sorted }) {
  /** @param {Record<string, unknown>} obj */
  const keysOf = (obj) => {
    const keys = Object.keys(obj).filter((k) => obj[k] !== undefined);
    return sorted ? keys.sort(byteCompare) : shuffled(keys);
  };
  /**
   * @param {unknown} v
   * @param {string} indent
   * @returns {string}
   */
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
    const obj = /** @type {Record<string, unknown>} */ (v);
    const keys = keysOf(obj);
    if (keys.length === 0) return pretty ? `{\n\n${indent}}` : '{}';
    if (!pretty) return `{${keys.map((k) => `${jsonString(k)}:${enc(obj[k], inner)}`).join(',')}}`;
    return `{\n${keys.map((k) => `${inner}${jsonString(k)} : ${enc(obj[k], inner)}`).join(',\n')}\n${indent}}`;
  };
  return enc(value, '');
}

/**
 * Columns padded to the widest cell plus 2, the last one unpadded; one trailing newline (§3.2).
 * @param {(string | undefined)[][]} rows
 */
export function renderTable(rows) {
  const columns = rows[0]?.length ?? 0;
  /** @type {number[]} */
  const widths = [];
  for (let c = 0; c < columns - 1; c++) widths[c] = Math.max(...rows.map((r) => String(r[c] ?? '').length)) + 2;
  return `${rows.map((r) => r.map((cell, c) => (c < columns - 1 ? String(cell ?? '').padEnd(widths[c] ?? 0) : String(cell ?? ''))).join('')).join('\n')}\n`;
}

const APPLE_EPOCH_MS = Date.UTC(2001, 0, 1);

/** @param {number} ms */
export function isoNoFraction(ms) {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * A date as the emulated version encodes it: ISO 8601 without fractions (1.x) or seconds since 2001 (0.x).
 * @param {import('./release.mjs').Release} release
 * @param {number} ms
 * @returns {string | number}
 */
export function encodeDate(release, ms) {
  if (release.has('json.iso-dates')) return isoNoFraction(ms);
  return (ms - APPLE_EPOCH_MS) / 1000;
}

/**
 * Prints a JSON value and a newline as the emulated release's encoder does.
 * @param {{ release: import('./release.mjs').Release, io: Writer }} ctx
 * @param {unknown} value
 * @param {{ pretty?: boolean }} [options]
 */
export function printJson(ctx, value, { pretty = false } = {}) {
  ctx.io.out(`${encodeJson(value, { pretty, sorted: ctx.release.has('json.sorted-keys') })}\n`);
}
