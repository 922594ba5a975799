// @ts-check
// The container lifecycle: run, create, start, stop, kill, delete, prune, list, inspect.

import fs from 'node:fs';
import os from 'node:os';
import { MIB } from '../core/config.mjs';
import { FORMAT_OPTION, QUIET_OPTION, requireFormat } from '../core/args.mjs';
import { aggregate, cz, Exit, fail, Failure, swiftArray } from '../core/errors.mjs';
import { engineMessage, sleep } from '../core/engine.mjs';
import { byteCompare, isoNoFraction, printJson, renderTable } from '../core/output.mjs';
import { requireSystem } from '../core/system-state.mjs';
import { attachments, engineContainerName, getRecord, inspectRecords, isMachine, listRecords, renderContainer } from '../model/containers.mjs';
import { createContainer, PROGRESS_OPTIONS, RUN_OPTIONS } from '../model/create.mjs';

/** @typedef {import('../core/context.mjs').Ctx} Ctx */
/** @typedef {import('../model/containers.mjs').ContainerRecord} ContainerRecord */
/** @typedef {import('../core/errors.mjs').CzError} CzError */
/** @typedef {import('./command.mjs').Command} Command */

/**
 * @param {'run' | 'create'} mode
 * @returns {import('../core/args.mjs').CommandSpec}
 */
function runCreateSpec(mode) {
  const options = mode === 'run' ? [...RUN_OPTIONS, ...PROGRESS_OPTIONS] : RUN_OPTIONS;
  return { usage: `container ${mode} [<options>] <image> [<arguments> ...]`, path: mode, options, positionals: ['image'], rest: 'arguments', passthroughAfter: 1 };
}

/**
 * @param {string} id
 * @param {{ stderr?: string, stdout?: string }} result
 */
function bootstrapFailure(id, result) {
  return cz('internalError', `failed to bootstrap container ${id}`, cz('internalError', engineMessage(result)));
}

/** @param {ContainerRecord} rec */
function checkMountSources(rec) {
  for (const m of rec.stored.apple.mounts) {
    if (m.type.virtiofs && !fs.existsSync(m.source)) fail('invalidArgument', `mount source path '${m.source}' does not exist`);
  }
}

const SIGNALS = new Set(Object.keys(os.constants.signals));

/**
 * A signal name or number as the engine takes it; null when there is no such signal.
 * @param {string} text
 */
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

/**
 * Polls the engine until the container is no longer running, or the deadline passes.
 * @param {Ctx} ctx
 * @param {string} name
 * @param {number} timeoutMs
 */
async function waitUntilStopped(ctx, name, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await ctx.engine.runAsync(['container', 'inspect', '--format', '{{.State.Status}}', name]);
    if (r.code !== 0) return true;
    const status = r.stdout.trim().toLowerCase();
    if (status !== 'running' && status !== 'stopping') return true;
    if (Date.now() >= deadline) return false;
    await sleep(100);
  }
}

/**
 * Stops one container: the engine's stop, or a signal and then KILL after `seconds`.
 * @param {Ctx} ctx
 * @param {ContainerRecord} rec
 * @param {number} seconds
 * @param {string} [signal]
 */
export async function stopOne(ctx, rec, seconds, signal) {
  const { engine } = ctx;
  if (rec.state === 'running' || rec.state === 'stopping') {
    if (signal) {
      await engine.runAsync(['kill', '-s', signal, rec.engineName]);
      if (!(await waitUntilStopped(ctx, rec.engineName, seconds * 1000))) {
        await engine.runAsync(['kill', '-s', 'KILL', rec.engineName]);
        await waitUntilStopped(ctx, rec.engineName, 10_000);
      }
    } else {
      const r = await engine.runAsync(['stop', '-t', String(seconds), rec.engineName]);
      if (r.code !== 0 && !(await waitUntilStopped(ctx, rec.engineName, 1000))) {
        throw cz('internalError', 'failed to stop container', cz('internalError', engineMessage(r)));
      }
    }
  }
  if (rec.stored.x.autoRemove && rec.startedMs !== undefined) await engine.runAsync(['rm', '-f', rec.engineName]);
}

/** @param {import('../core/args.mjs').Parsed} opts */
function targetIds(opts) {
  /** @type {string[]} */
  const ids = [...new Set(opts.rest)];
  if (ids.length === 0 && !opts.all) fail('invalidArgument', 'no containers specified and --all not supplied');
  return ids;
}

/**
 * Runs `work` for every ID in parallel, printing IDs in completion order; AggregateError at the end.
 * A ContainerizationError thrown by `work` joins the aggregate; an Exit or a Failure ends the command.
 * @param {Ctx} ctx
 * @param {string[]} ids
 * @param {ContainerRecord[]} records
 * @param {(rec: ContainerRecord) => Promise<void>} work
 * @param {((id: string) => CzError) | null} [notFound]
 */
export async function forEachContainer(ctx, ids, records, work, notFound) {
  const byId = new Map(records.map((r) => [r.id, r]));
  /** @type {CzError[]} */
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
        ctx.io.out(`${id}\n`);
        ctx.io.flush();
      } catch (e) {
        if (e instanceof Exit || e instanceof Failure) throw e;
        errors.push(/** @type {CzError} */ (e));
      }
    }),
  );
  if (errors.length) throw new Exit(1, aggregate(errors));
}

/**
 * @param {Ctx} ctx
 * @param {string} verb
 * @returns {((id: string) => CzError) | null}
 */
function unknownIdError(ctx, verb) {
  return ctx.release.has('errors.localized') ? (id) => cz('internalError', `failed to ${verb} container`, cz('notFound', `container with ID ${id} not found`)) : null;
}

/** Containers the container commands see (machines are not among them). @param {Ctx} ctx */
function containers(ctx) {
  return listRecords(ctx).filter((r) => !isMachine(ctx, r));
}

const ID_LIST = { positionals: [], rest: 'container-ids' };

/** @type {Command} */
const create = {
  spec: runCreateSpec('create'),
  run(ctx, opts) {
    const sys = requireSystem(ctx);
    const { id } = createContainer(ctx, opts, 'create', sys);
    ctx.io.out(`${id}\n`);
  },
};

/** @type {Command} */
const run = {
  spec: runCreateSpec('run'),
  async run(ctx, opts) {
    const { engine } = ctx;
    const sys = requireSystem(ctx);
    const { id } = createContainer(ctx, opts, 'run', sys);
    const name = engineContainerName(ctx, id);
    if (opts.detach) {
      const r = engine.run(['start', name]);
      if (r.code !== 0) {
        engine.run(['rm', '-f', name]);
        throw new Failure(bootstrapFailure(id, r));
      }
      ctx.io.out(`${id}\n`);
      return 0;
    }
    const args = ['start', '-a', ...(opts.interactive ? ['-i'] : []), name];
    const code = await engine.attached(args, [opts.interactive ? 'inherit' : 'ignore', 'inherit', 'inherit']);
    const after = inspectRecords(ctx, [name])[0];
    const error = after?.raw.State?.Error;
    if (after && error && after.startedMs === undefined) {
      engine.run(['rm', '-f', name]);
      throw new Failure(bootstrapFailure(id, { stderr: error }));
    }
    if (after?.stored.x.autoRemove && after.state !== 'running') engine.run(['rm', '-f', name]);
    return code;
  },
};

/** @type {Command} */
const start = {
  spec: {
    usage: 'container start [--attach] [--interactive] <container-id>',
    path: 'start',
    options: [
      { key: 'attach', names: ['-a', '--attach'], type: 'flag' },
      { key: 'interactive', names: ['-i', '--interactive'], type: 'flag' },
    ],
    positionals: ['container-id'],
  },
  async run(ctx, opts) {
    requireSystem(ctx);
    const id = opts._[0] ?? '';
    const rec = getRecord(ctx, id);
    if (!rec) return fail('notFound', `get failed: container ${id} not found`);
    if (rec.state === 'running') {
      if (opts.attach) fail('invalidState', 'attach is currently unsupported on already running containers');
      ctx.io.out(`${id}\n`);
      return 0;
    }
    checkMountSources(rec);
    if (opts.attach || opts.interactive) {
      const args = ['start', '-a', ...(opts.interactive ? ['-i'] : []), rec.engineName];
      return ctx.engine.attached(args, [opts.interactive ? 'inherit' : 'ignore', 'inherit', 'inherit']);
    }
    const r = ctx.engine.run(['start', rec.engineName]);
    if (r.code !== 0) throw new Failure(bootstrapFailure(id, r));
    ctx.io.out(`${id}\n`);
    return 0;
  },
};

/** @type {Command} */
const stop = {
  spec: {
    usage: 'container stop [--all] [--signal <signal>] [--time <time>] [<container-ids> ...]',
    path: 'stop',
    options: [
      { key: 'all', names: ['-a', '--all'], type: 'flag' },
      { key: 'signal', names: ['-s', '--signal'], type: 'value', value: 'signal' },
      { key: 'time', names: ['-t', '--time'], type: 'value', value: 'time', check: (v) => /^-?\d+$/.test(v) },
    ],
    ...ID_LIST,
  },
  async run(ctx, opts) {
    let ids = targetIds(opts);
    requireSystem(ctx);
    const signal = opts.signal === undefined ? undefined : normalizeSignal(opts.signal);
    if (opts.signal !== undefined && !signal) fail('invalidArgument', `invalid signal ${opts.signal}`);
    const records = containers(ctx);
    if (opts.all) ids = records.map((r) => r.id);
    const seconds = opts.time === undefined ? 5 : Number(opts.time);
    await forEachContainer(ctx, ids, records, (rec) => stopOne(ctx, rec, seconds, signal ?? undefined), unknownIdError(ctx, 'stop'));
    return 0;
  },
};

/** @type {Command} */
const kill = {
  spec: {
    usage: 'container kill [--all] [--signal <signal>] [<container-ids> ...]',
    path: 'kill',
    options: [
      { key: 'all', names: ['-a', '--all'], type: 'flag' },
      { key: 'signal', names: ['-s', '--signal'], type: 'value', value: 'signal' },
    ],
    ...ID_LIST,
  },
  async run(ctx, opts) {
    const { engine } = ctx;
    let ids = targetIds(opts);
    requireSystem(ctx);
    const signal = normalizeSignal(opts.signal ?? 'KILL');
    if (!signal) return fail('invalidArgument', `invalid signal ${opts.signal}`);
    const records = containers(ctx);
    if (opts.all) ids = records.filter((r) => r.state === 'running').map((r) => r.id);
    await forEachContainer(
      ctx,
      ids,
      records,
      async (rec) => {
        if (rec.state !== 'running') {
          throw cz('internalError', 'failed to kill container', cz('invalidState', 'no runtime client exists: container is stopped'));
        }
        const r = await engine.runAsync(['kill', '-s', signal, rec.engineName]);
        if (r.code !== 0) throw cz('internalError', 'failed to kill container', cz('internalError', engineMessage(r)));
        if (signal === 'SIGKILL' || signal === '9') {
          await waitUntilStopped(ctx, rec.engineName, 10_000);
          if (rec.stored.x.autoRemove) await engine.runAsync(['rm', '-f', rec.engineName]);
        }
      },
      unknownIdError(ctx, 'kill'),
    );
    return 0;
  },
};

/** @type {Command} */
const del = {
  spec: {
    usage: 'container delete [--all] [--force] [<container-ids> ...]',
    path: 'delete',
    options: [
      { key: 'all', names: ['-a', '--all'], type: 'flag' },
      { key: 'force', names: ['-f', '--force'], type: 'flag' },
    ],
    ...ID_LIST,
  },
  async run(ctx, opts) {
    let ids = targetIds(opts);
    requireSystem(ctx);
    const records = containers(ctx);
    if (opts.all) ids = records.filter((r) => opts.force || r.state !== 'running').map((r) => r.id);
    if (!ctx.release.has('errors.localized')) {
      // Up to 0.9: one error for all the IDs that are missing or running.
      const known = new Set(records.map((r) => r.id));
      const missing = ids.filter((id) => !known.has(id));
      if (missing.length) fail('notFound', `failed to delete one or more containers: ${swiftArray(missing)}`);
      const running = records.filter((r) => ids.includes(r.id) && r.state !== 'stopped' && !opts.force).map((r) => r.id);
      if (running.length) fail('invalidState', `delete failed for one or more containers: ${swiftArray(running)}`);
    }
    await forEachContainer(
      ctx,
      ids,
      records,
      async (rec) => {
        if (rec.state !== 'stopped' && !opts.force) {
          throw cz('internalError', 'failed to delete container', cz('invalidState', `container ${rec.id} is ${rec.state} and can not be deleted`));
        }
        const r = await ctx.engine.runAsync(['rm', '-f', rec.engineName]);
        if (r.code !== 0 && !/no such container|no container with name/i.test(r.stderr)) {
          throw cz('internalError', 'failed to delete container', cz('internalError', engineMessage(r)));
        }
      },
      (id) => cz('internalError', 'failed to delete container', cz('notFound', `container with ID ${id} not found`)),
    );
    return 0;
  },
};

/** @type {Command} */
const prune = {
  spec: { usage: 'container prune', path: 'prune', options: [], positionals: [] },
  async run(ctx) {
    requireSystem(ctx);
    const stopped = containers(ctx).filter((r) => r.state === 'stopped');
    await forEachContainer(ctx, stopped.map((r) => r.id), stopped, async (rec) => {
      await ctx.engine.runAsync(['rm', '-f', rec.engineName]);
    });
    ctx.io.err('Reclaimed Zero KB in disk space\n');
    return 0;
  },
};

/** @type {Command} */
const list = {
  spec: {
    usage: 'container list [--all] [--format <format>] [--quiet]',
    path: 'list',
    options: [{ key: 'all', names: ['-a', '--all'], type: 'flag' }, FORMAT_OPTION, QUIET_OPTION],
    positionals: [],
  },
  run(ctx, opts) {
    const { release, io } = ctx;
    const format = requireFormat(opts.format);
    const sys = requireSystem(ctx, 'list');
    const records = containers(ctx);
    const filterAll = format === 'json' && !release.has('list.json-honours-all') ? true : opts.all;
    const shown = filterAll ? records : records.filter((r) => r.state === 'running');
    if (opts.quiet) {
      io.out(shown.map((r) => `${r.id}\n`).join(''));
      return 0;
    }
    if (format === 'json') {
      printJson(ctx, shown.map((r) => renderContainer(ctx, r, sys)));
      return 0;
    }
    const ipv4 = release.has('json.ipv4-attachments');
    const startedColumn = release.has('inspect.started-date');
    const header = ['ID', 'IMAGE', 'OS', 'ARCH', 'STATE', release.has('tables.1x') ? 'IP' : 'ADDR', 'CPUS', 'MEMORY', ...(startedColumn ? ['STARTED'] : [])];
    const rows = shown.map((r) => {
      const c = r.stored.apple;
      const ips = attachments(ctx, r).map((a) => (ipv4 ? a.ipv4Address : String(a.address).split('/')[0])).join(',');
      const started = r.startedMs !== undefined && r.startedMs >= (sys.bootMs ?? 0) ? isoNoFraction(r.startedMs) : '';
      return [r.id, c.image.reference, c.platform.os, c.platform.architecture, r.state, ips, String(c.resources.cpus), `${c.resources.memoryInBytes / MIB} MB`, ...(startedColumn ? [started] : [])];
    });
    io.out(renderTable([header, ...rows]));
    return 0;
  },
};

/** @type {Command} */
const inspect = {
  spec: { usage: 'container inspect <container-ids> ...', path: 'inspect', options: [], positionals: [], rest: 'container-ids', minRest: 1 },
  run(ctx, opts) {
    const strict = ctx.release.has('inspect.strict');
    const sys = requireSystem(ctx);
    /** @type {string[]} */
    const ids = [...new Set(opts.rest)];
    const found = [];
    const missing = [];
    for (const id of ids) {
      const rec = getRecord(ctx, id);
      if (rec) found.push(rec);
      else missing.push(id);
    }
    if (missing.length && strict) fail('notFound', `container not found: ${missing.sort(byteCompare).join(', ')}`);
    printJson(ctx, found.map((r) => renderContainer(ctx, r, sys)), { pretty: strict });
    return 0;
  },
};

/** The container commands, by the word that names them. @type {Record<string, Command>} */
export const CONTAINER_COMMANDS = { create, run, start, stop, kill, delete: del, prune: { ...prune, since: 'prune' }, list, inspect };
