// @ts-check
// The engine underneath (podman or docker): always spawned with argument arrays, never a shell.

// eslint-disable-next-line no-restricted-imports -- a standalone executable that drives the engine CLI; argument arrays only, never a shell
import { spawn, spawnSync } from 'node:child_process';
import os from 'node:os';
import { MIB } from './config.mjs';
import { Exit } from './errors.mjs';

/** @typedef {{ code: number, stdout: string, stderr: string }} EngineResult */

/** @param {NodeJS.Signals | null} signal */
function signalCode(signal) {
  return 128 + ((signal && os.constants.signals[signal]) || 1);
}

export class Engine {
  /**
   * @param {Readonly<import('./config.mjs').Config>} config
   * @param {import('./output.mjs').Writer} io Flushed before a child takes over the terminal.
   */
  constructor(config, io) {
    this.binary = config.engine;
    this.env = config.env;
    this.io = io;
  }

  /** @param {string} message */
  cannotRun(message) {
    return `Error: container-double: cannot run ${this.binary}: ${message}\n`;
  }

  /**
   * Runs the engine to completion, capturing its output.
   * @param {string[]} args
   * @returns {EngineResult}
   */
  run(args) {
    const result = spawnSync(this.binary, args, { encoding: 'utf8', env: this.env, maxBuffer: 512 * MIB });
    if (result.error) throw new Exit(1, this.cannotRun(result.error.message));
    return { code: result.status ?? 1, stdout: result.stdout ?? '', stderr: result.stderr ?? '' };
  }

  /**
   * Like run, without blocking (for work on several containers at once); never throws.
   * @param {string[]} args
   * @returns {Promise<EngineResult>}
   */
  runAsync(args) {
    return new Promise((resolve) => {
      const child = spawn(this.binary, args, { env: this.env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (/** @type {string} */ d) => (stdout += d));
      child.stderr.setEncoding('utf8').on('data', (/** @type {string} */ d) => (stderr += d));
      child.on('error', (e) => resolve({ code: 1, stdout, stderr: stderr + e.message }));
      child.on('close', (code, signal) => resolve({ code: code ?? signalCode(signal), stdout, stderr }));
    });
  }

  /**
   * Runs the engine on the given stdio and resolves to its exit code; forwards TERM/INT/HUP.
   * @param {string[]} args
   * @param {import('node:child_process').StdioOptions} stdio
   * @returns {Promise<number>}
   */
  attached(args, stdio) {
    this.io.flush();
    return new Promise((resolve) => {
      const child = spawn(this.binary, args, { env: this.env, stdio });
      /** @type {[NodeJS.Signals, () => void][]} */
      const handlers = /** @type {NodeJS.Signals[]} */ (['SIGTERM', 'SIGINT', 'SIGHUP']).map((sig) => [sig, () => child.kill(sig)]);
      for (const [sig, h] of handlers) process.on(sig, h);
      child.on('error', (e) => {
        this.io.err(this.cannotRun(e.message));
        resolve(1);
      });
      child.on('close', (code, signal) => {
        for (const [sig, h] of handlers) process.off(sig, h);
        resolve(code ?? signalCode(signal));
      });
    });
  }

  /**
   * Runs the engine with stdout and stderr on one file descriptor (their relative order kept).
   * @param {string[]} args
   * @param {number} fd
   */
  runToFd(args, fd) {
    const r = spawnSync(this.binary, args, { env: this.env, stdio: ['ignore', fd, fd] });
    if (r.error) throw new Exit(1, this.cannotRun(r.error.message));
  }
}

/**
 * The engine's own error line, without its `Error:` prefixes and help pointers.
 * @param {{ stderr?: string, stdout?: string }} result
 */
export function engineMessage(result) {
  const lines = (result.stderr || result.stdout || '')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^See '.*--help'/.test(l));
  return (lines.pop() ?? 'unknown error').replace(/^Error:\s*/i, '').replace(/^Error response from daemon:\s*/i, '');
}

/**
 * Engine JSON: an array, one object, or (docker) one object per line.
 * @param {string} text
 * @returns {any[]}
 */
export function parseJsonArray(text) {
  try {
    const value = JSON.parse(text);
    return Array.isArray(value) ? value : [value];
  } catch {
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

/**
 * The non-empty trimmed lines of an engine listing.
 * @param {string} text
 */
export function lines(text) {
  return text.split('\n').map((s) => s.trim()).filter(Boolean);
}

/** @param {number} ms */
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
