import type * as NodePtyModule from 'node-pty';
import type { IPty } from 'node-pty';
import { BerthError } from '../errors.js';
import { resolveExecutable } from './resolve-executable.js';

/**
 * A program on this machine under a pseudo-terminal, through `node-pty` (an optional dependency:
 * a native addon, built at install, which some machines cannot build). It is loaded on the first
 * terminal, so Berth without it still does everything else, and a missing one is a BerthError
 * that says how to get it. Like run.ts for pipes, this is the one module that starts processes on
 * a pseudo-terminal.
 */
export interface HostPty {
  readonly pid: number;
  onData(cb: (data: Buffer) => void): void;
  /** Once, with the exit code (128 + n for a signal, as shells report it). */
  onExit(cb: (exitCode: number) => void): void;
  write(data: string | Uint8Array): void;
  resize(cols: number, rows: number): void;
  /** Signals the program itself (its session's leader); what it started may outlive it. */
  kill(signal: NodeJS.Signals): void;
}

export interface HostPtyOptions {
  cols: number;
  rows: number;
  cwd?: string | undefined;
  env: NodeJS.ProcessEnv;
}

type NodePty = typeof NodePtyModule;
let loaded: Promise<NodePty> | undefined;

async function loadNodePty(): Promise<NodePty> {
  loaded ??= import('node-pty').catch((error: unknown) => {
    loaded = undefined;
    throw new BerthError('E_UNSUPPORTED', `A terminal for this workspace needs the optional package node-pty, which is not usable here: ${error instanceof Error ? error.message : String(error)}`, {
      hint: 'Install it next to Berth (`npm install node-pty@1.1.0`; it builds a native addon: needs python3, make and a C++ compiler), or use a docker/podman workspace whose engine socket Berth reaches (no node-pty needed there).',
      details: { missing: 'node-pty' },
      cause: error,
    });
  });
  return loaded;
}

export async function spawnOnPty(argv: readonly string[], options: HostPtyOptions): Promise<HostPty> {
  const [file, ...args] = argv;
  if (file === undefined) throw new BerthError('E_INVALID_INPUT', 'argv is empty; pass at least the program to run.');
  // node-pty reports a missing program only as exit code 1 after the fork: say which one here.
  const executable = resolveExecutable(file, options.env);
  if (executable === undefined) throw new BerthError('E_NOT_FOUND', `\`${file}\` was not found on this machine's PATH.`, { hint: 'Install it, or check PATH.' });
  const nodePty = await loadNodePty();
  const env = Object.fromEntries(Object.entries(options.env).filter((entry): entry is [string, string] => entry[1] !== undefined));
  // encoding null: data arrives as the bytes the program wrote (no UTF-8 split across chunks).
  const pty: IPty = nodePty.spawn(executable, args, { name: env['TERM'] ?? 'xterm-256color', cols: options.cols, rows: options.rows, cwd: options.cwd, env, encoding: null });
  return {
    pid: pty.pid,
    onData: (cb) => void pty.onData((data: string | Buffer) => cb(typeof data === 'string' ? Buffer.from(data) : data)),
    onExit: (cb) => void pty.onExit(({ exitCode, signal }) => cb(signal ? 128 + signal : exitCode)),
    write: (data) => pty.write(typeof data === 'string' ? data : Buffer.from(data)),
    resize: (cols, rows) => pty.resize(cols, rows),
    kill: (signal) => pty.kill(signal),
  };
}
