// @ts-check
// The `volume` group: create, list, inspect, delete, prune.

import { FORMAT_OPTION, QUIET_OPTION, requireFormat } from '../core/args.mjs';
import { fail } from '../core/errors.mjs';
import { byteCompare, printJson, renderTable } from '../core/output.mjs';
import { requireSystem } from '../core/system-state.mjs';
import { listRecords } from '../model/containers.mjs';
import { deleteEach } from './delete-each.mjs';
import { parseMemory } from '../model/create.mjs';
import { createVolume, engineVolumeName, inspectVolume, listVolumes, volumeResource } from '../model/volumes.mjs';

/** @typedef {import('./command.mjs').Command} Command */
/** @typedef {import('../model/containers.mjs').ContainerRecord} ContainerRecord */

/**
 * @param {ContainerRecord[]} records
 * @param {string} name
 */
function inUse(records, name) {
  return records.some((r) => r.stored.apple.mounts.some((m) => m.type.volume?.name === name));
}

/** @type {Command} */
const create = {
  spec: {
    usage: 'container volume create [<options>] <name>',
    path: 'volume create',
    options: [
      { key: 'label', names: ['--label'], type: 'array' },
      { key: 'opt', names: ['--opt'], type: 'array' },
      { key: 'size', names: ['-s'], type: 'value' },
    ],
    positionals: ['name'],
  },
  run(ctx, opts) {
    requireSystem(ctx);
    const name = opts._[0] ?? '';
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) fail('invalidArgument', `invalid volume name ${name}`);
    if (inspectVolume(ctx, name)) fail('exists', `volume ${name} already exists`);
    /** @param {string[]} list */
    const kv = (list) => Object.fromEntries(list.map((l) => (l.includes('=') ? [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] : [l, ''])));
    const options = kv(opts.opt);
    const sizeText = opts.size ?? options.size;
    createVolume(ctx, name, { creationMs: Date.now(), labels: kv(opts.label), options, sizeInBytes: sizeText ? Math.floor(parseMemory(sizeText)) : undefined });
    ctx.io.out(`${name}\n`);
    return 0;
  },
};

/** @type {Command} */
const list = {
  spec: { usage: 'container volume list [--format <format>] [--quiet]', path: 'volume list', options: [FORMAT_OPTION, QUIET_OPTION], positionals: [] },
  run(ctx, opts) {
    const format = requireFormat(opts.format);
    const sys = requireSystem(ctx);
    const volumes = listVolumes(ctx).sort((a, b) => byteCompare(a.name, b.name));
    if (opts.quiet) {
      ctx.io.out(volumes.map((v) => `${v.name}\n`).join(''));
      return 0;
    }
    if (format === 'json') {
      printJson(ctx, volumes.map((v) => volumeResource(ctx, sys, v)));
      return 0;
    }
    const rows = volumes.map((v) => {
      const anonymous = 'com.apple.container.resource.anonymous' in (v.config.labels ?? {});
      const options = Object.entries(v.config.options ?? {}).map(([k, val]) => `${k}=${val}`).join(',');
      return [v.name, anonymous ? 'anonymous' : 'named', 'local', options];
    });
    ctx.io.out(renderTable([['NAME', 'TYPE', 'DRIVER', 'OPTIONS'], ...rows]));
    return 0;
  },
};

/** @type {Command} */
const inspect = {
  spec: { usage: 'container volume inspect <names> ...', path: 'volume inspect', options: [], positionals: [], rest: 'names', minRest: 1 },
  run(ctx, opts) {
    const sys = requireSystem(ctx);
    const found = [];
    for (const name of opts.rest) {
      const v = inspectVolume(ctx, name);
      if (!v) return fail('notFound', `volume not found: ${name}`);
      found.push(volumeResource(ctx, sys, v));
    }
    printJson(ctx, found, { pretty: ctx.release.has('inspect.strict') });
    return 0;
  },
};

/** @type {Command} */
const del = {
  spec: {
    usage: 'container volume delete [--all] [<names> ...]',
    path: 'volume delete',
    options: [{ key: 'all', names: ['-a', '--all'], type: 'flag' }],
    positionals: [],
    rest: 'names',
  },
  run(ctx, opts) {
    if (opts.rest.length === 0 && !opts.all) fail('invalidArgument', 'no volumes specified and --all not supplied');
    requireSystem(ctx);
    const volumes = listVolumes(ctx);
    /** @type {string[]} */
    const names = opts.all ? volumes.map((v) => v.name) : [...new Set(opts.rest)];
    /** @type {import('../model/containers.mjs').ContainerRecord[] | undefined} */
    let records; // listed only after every name is known to exist
    deleteEach(ctx, {
      kind: 'volumes',
      names,
      known: (name) => volumes.some((v) => v.name === name),
      inUse: (name) => (inUse((records ??= listRecords(ctx)), name) ? `volume '${name}' is currently in use and cannot be accessed by another container, or deleted\n` : null),
      remove: (name) => ctx.engine.run(['volume', 'rm', engineVolumeName(ctx, name)]).code === 0,
    });
    return 0;
  },
};

/** @type {Command} */
const prune = {
  spec: { usage: 'container volume prune', path: 'volume prune', options: [], positionals: [] },
  run(ctx) {
    requireSystem(ctx);
    const records = listRecords(ctx);
    for (const v of listVolumes(ctx)) {
      if (inUse(records, v.name)) continue;
      if (ctx.engine.run(['volume', 'rm', engineVolumeName(ctx, v.name)]).code === 0) ctx.io.out(`${v.name}\n`);
    }
    return 0;
  },
};

/** @type {import('./command.mjs').Group} */
export const VOLUME_GROUP = { group: 'volume', since: 'volume', aliases: { ls: 'list', rm: 'delete' }, commands: { create, list, inspect, delete: del, prune } };
