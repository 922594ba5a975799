// @ts-check
// Inside a running container: exec, logs, copy.

import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cz, fail } from '../core/errors.mjs';
import { engineMessage } from '../core/engine.mjs';
import { requireSystem } from '../core/system-state.mjs';
import { getRecord } from '../model/containers.mjs';
import { envFromFiles, envFromFlags, mergeEnv, PROCESS_OPTIONS } from '../model/create.mjs';

/** @typedef {import('./command.mjs').Command} Command */
/** @typedef {import('../core/context.mjs').Ctx} Ctx */

/**
 * The running container an ID names, or the failure Apple gives.
 * @param {Ctx} ctx
 * @param {string} id
 */
function runningContainer(ctx, id) {
  const rec = getRecord(ctx, id);
  if (!rec) return fail('notFound', `get failed: container ${id} not found`);
  if (rec.state !== 'running') fail('invalidState', `container ${id} is not running`);
  return rec;
}

/** @type {Command} */
const exec = {
  spec: {
    usage: 'container exec [<options>] <container-id> <arguments> ...',
    path: 'exec',
    options: [...PROCESS_OPTIONS, { key: 'detach', names: ['-d', '--detach'], type: 'flag' }],
    positionals: ['container-id'],
    rest: 'arguments',
    passthroughAfter: 1,
    minRest: 1,
  },
  run(ctx, opts) {
    requireSystem(ctx);
    const id = opts._[0] ?? '';
    const rec = runningContainer(ctx, id);
    const args = ['exec'];
    if (opts.interactive) args.push('-i');
    if (opts.tty) args.push('-t');
    if (opts.detach) args.push('-d');
    for (const e of mergeEnv(envFromFiles(ctx, opts.envFile), envFromFlags(ctx, opts.env))) args.push('-e', e);
    if (opts.workdir) args.push('-w', opts.workdir);
    const user = opts.user ?? (opts.uid !== undefined || opts.gid !== undefined ? `${opts.uid ?? 0}:${opts.gid ?? 0}` : undefined);
    if (user) args.push('-u', user);
    args.push(rec.engineName, ...opts.rest);
    if (opts.detach) {
      const r = ctx.engine.run(args);
      if (r.code !== 0) fail('internalError', `failed to create process in container ${id}`, cz('internalError', engineMessage(r)));
      ctx.io.out(`${id}\n`);
      return 0;
    }
    return ctx.engine.attached(args, [opts.interactive ? 'inherit' : 'ignore', 'inherit', 'inherit']);
  },
};

/** @type {Command} */
const logs = {
  spec: {
    usage: 'container logs [--boot] [--follow] [-n <n>] <container-id>',
    path: 'logs',
    options: [
      { key: 'boot', names: ['--boot'], type: 'flag' },
      { key: 'follow', names: ['-f', '--follow'], type: 'flag' },
      { key: 'n', names: ['-n'], type: 'value', value: 'n', check: (v) => /^\d+$/.test(v) },
    ],
    positionals: ['container-id'],
  },
  run(ctx, opts) {
    requireSystem(ctx);
    const id = opts._[0] ?? '';
    const rec = getRecord(ctx, id);
    if (!rec) return fail('internalError', `failed to get logs for container ${id}`, cz('notFound', `get failed: container ${id} not found`));
    if (opts.boot) return 0; // there is no VM boot log to show
    if (opts.follow) {
      const args = ['logs', '-f', ...(opts.n !== undefined ? ['--tail', opts.n] : []), rec.engineName];
      return ctx.engine.attached(args, ['ignore', 1, 1]);
    }
    // stdout and stderr share one file in Apple's runtime; one shared fd keeps their order.
    const tmp = path.join(os.tmpdir(), `acd-logs-${process.pid}-${randomBytes(4).toString('hex')}`);
    const fd = fs.openSync(tmp, 'w+', 0o600);
    try {
      ctx.engine.runToFd(['logs', rec.engineName], fd);
      let text = fs.readFileSync(tmp, 'utf8');
      if (opts.n !== undefined) {
        const lines = text.split('\n').filter((l) => l.trim() !== '');
        const n = Number(opts.n);
        text = n === 0 ? '' : lines.slice(-n).map((l) => `${l}\n`).join('');
      }
      ctx.io.out(text);
    } finally {
      fs.closeSync(fd);
      fs.rmSync(tmp, { force: true });
    }
    return 0;
  },
};

/**
 * `container_id:/path` or a local path.
 * @param {string} ref
 * @returns {{ local: string, id?: undefined, path?: undefined } | { id: string, path: string, local?: undefined }}
 */
function parsePathRef(ref) {
  const parts = ref.split(':');
  if (parts.length === 1) return { local: ref };
  const [id = '', containerPath = ''] = parts;
  if (parts.length === 2 && id !== '' && containerPath.startsWith('/')) return { id, path: containerPath };
  return fail('invalidArgument', `invalid path given: ${ref}`);
}

/** @type {Command} */
const copy = {
  since: 'cp',
  spec: { usage: 'container copy <source> <destination>', path: 'copy', options: [], positionals: ['source', 'destination'] },
  run(ctx, opts) {
    const { engine, io } = ctx;
    requireSystem(ctx);
    const src = parsePathRef(opts._[0] ?? '');
    const dst = parsePathRef(opts._[1] ?? '');
    if (src.id && dst.id) fail('invalidArgument', 'copying between containers is not supported');
    const id = src.id ?? dst.id;
    if (id === undefined) return fail('invalidArgument', 'one of source or destination must be a container reference (container_id:path)');
    const rec = runningContainer(ctx, id);
    if (src.path !== undefined && dst.local !== undefined) {
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
      const r = engine.run(['cp', `${rec.engineName}:${src.path}`, finalDest]);
      if (r.code !== 0) fail('internalError', `failed to copy from container ${id}`, cz('internalError', engineMessage(r)));
      if (dst.local.endsWith('/') && !isDir && fs.existsSync(destPath) && !fs.statSync(destPath).isDirectory()) {
        fs.rmSync(destPath, { force: true });
        fail('invalidArgument', `destination is not a directory: ${dst.local}`);
      }
      io.out(`${finalDest}\n`);
      return 0;
    }
    const local = src.local ?? '';
    const target = dst.path ?? '';
    const srcPath = path.resolve(local);
    /** @type {fs.Stats} */
    let stat;
    try {
      stat = fs.statSync(srcPath);
    } catch {
      return fail('notFound', `source path does not exist: ${local}`);
    }
    if (local.endsWith('/') && !stat.isDirectory()) fail('invalidArgument', `source path is not a directory: ${local}`);
    const destPath = target.endsWith('/') ? `${target}${path.basename(srcPath)}` : target;
    const parent = target.endsWith('/') ? target : path.posix.dirname(target);
    engine.run(['exec', rec.engineName, 'mkdir', '-p', parent]);
    const r = engine.run(['cp', srcPath, `${rec.engineName}:${destPath}`]);
    if (r.code !== 0) fail('internalError', `failed to copy into container ${id}`, cz('internalError', engineMessage(r)));
    io.out(`${id}:${destPath}\n`);
    return 0;
  },
};

/** @type {Record<string, Command>} */
export const PROCESS_COMMANDS = { exec, logs, copy };
