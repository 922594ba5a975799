// @ts-check
// Images: the `image` group (list, inspect, pull, tag) and `build`.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FORMAT_OPTION, QUIET_OPTION, requireFormat } from '../core/args.mjs';
import { Exit, fail, swiftArray, usageExit } from '../core/errors.mjs';
import { engineMessage } from '../core/engine.mjs';
import { isoNoFraction, printJson, renderTable } from '../core/output.mjs';
import { requireSystem } from '../core/system-state.mjs';
import { PROGRESS_OPTIONS } from '../model/create.mjs';
import {
  denormalizeReference,
  engineCandidates,
  formatSize,
  imageDescriptor,
  imagePlatform,
  imageResource,
  listImages,
  normalizeReference,
  pullFailureMessage,
  resolveImage,
} from '../model/images.mjs';

/** @typedef {import('./command.mjs').Command} Command */

/**
 * NAME and TAG columns of a reference.
 * @param {string} ref
 */
function nameAndTag(ref) {
  const d = denormalizeReference(ref);
  const at = d.indexOf('@');
  const base = at === -1 ? d : d.slice(0, at);
  const colon = base.lastIndexOf(':');
  return colon > base.lastIndexOf('/') ? [base.slice(0, colon), base.slice(colon + 1)] : [base, '<none>'];
}

/** @param {string} digest */
const shortDigest = (digest) => digest.replace(/^sha256:/, '').slice(0, 12);

/** @type {Command} */
const list = {
  spec: {
    usage: 'container image list [--format <format>] [--quiet] [--verbose]',
    path: 'image list',
    options: [FORMAT_OPTION, QUIET_OPTION, { key: 'verbose', names: ['-v', '--verbose'], type: 'flag' }],
    positionals: [],
  },
  run(ctx, opts) {
    const { release, io } = ctx;
    const spec = list.spec;
    const format = requireFormat(opts.format);
    if (opts.quiet && opts.verbose) throw usageExit('Cannot use flag --quiet and --verbose together', spec.usage, spec.path);
    if (!release.has('image list.json-flags') && format === 'json' && (opts.quiet || opts.verbose)) {
      throw usageExit('Cannot use flag --quiet or --verbose along with --format json', spec.usage, spec.path);
    }
    requireSystem(ctx);
    const images = listImages(ctx);
    if (format === 'json' && !opts.quiet) {
      const items = images.map(({ reference, info }) => {
        if (release.has('json.managed-resources')) return imageResource(ctx, reference, info);
        /** @type {Record<string, unknown>} */
        const item = { reference, descriptor: imageDescriptor(ctx, info) };
        if (release.has('image list.full-size')) item.fullSize = formatSize(info.Size ?? 0);
        return item;
      });
      printJson(ctx, items);
      return 0;
    }
    if (opts.quiet) {
      io.out(images.map((i) => `${denormalizeReference(i.reference)}\n`).join(''));
      return 0;
    }
    if (opts.verbose) {
      const header = ['NAME', 'TAG', 'INDEX DIGEST', 'OS', 'ARCH', 'VARIANT', 'FULL SIZE', 'CREATED', 'MANIFEST DIGEST'];
      const rows = images.map(({ reference, info }) => {
        const [name, tag] = nameAndTag(reference);
        const d = imageDescriptor(ctx, info);
        const p = imagePlatform(info);
        const created = Date.parse(info.Created ?? '');
        return [name, tag, shortDigest(d.digest), p.os, p.architecture, p.variant ?? '', formatSize(info.Size ?? 0), Number.isNaN(created) ? '' : isoNoFraction(created), shortDigest(d.digest)];
      });
      io.out(renderTable([header, ...rows]));
      return 0;
    }
    const rows = images.map(({ reference, info }) => [...nameAndTag(reference), shortDigest(imageDescriptor(ctx, info).digest)]);
    io.out(renderTable([['NAME', 'TAG', 'DIGEST'], ...rows]));
    return 0;
  },
};

/** @type {Command} */
const inspect = {
  spec: { usage: 'container image inspect <images> ...', path: 'image inspect', options: [], positionals: [], rest: 'images', minRest: 1 },
  run(ctx, opts) {
    const strict = ctx.release.has('inspect.strict');
    requireSystem(ctx);
    const found = [];
    /** @type {string[]} */
    const missing = [];
    for (const ref of opts.rest) {
      const image = resolveImage(ctx, ref);
      if (image) found.push(imageResource(ctx, image.reference, image.info));
      else missing.push(ref);
    }
    if (missing.length && strict) fail('notFound', `image not found: ${missing.join(', ')}`);
    if (missing.length) {
      // 0.9 to 0.12: a log line per missing image, then the InspectError itself, described by
      // Swift (ImageInspect.swift@0.9.0 lines 58-71, @0.12.3 line 59): the shape from the source,
      // not captured bytes. "Image not found" is capitalised there.
      const logLines = missing.map((ref) => `${ref}: Image not found\n`).join('');
      const failed = missing.map((ref) => `("${ref}", notFound: "Image not found")`).join(', ');
      if (found.length) printJson(ctx, found);
      throw new Exit(1, `${logLines}Error: InspectError(succeeded: ${swiftArray([])}, failed: [${failed}])\n`);
    }
    printJson(ctx, found, { pretty: strict });
    return 0;
  },
};

/** @type {Command} */
const pull = {
  spec: {
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
  },
  run(ctx, opts) {
    requireSystem(ctx);
    const ref = opts._[0] ?? '';
    if (!resolveImage(ctx, ref)) fail('internalError', pullFailureMessage(ref));
    return 0;
  },
};

/** @type {Command} */
const tag = {
  spec: { usage: 'container image tag <source> <target>', path: 'image tag', options: [], positionals: ['source', 'target'] },
  run(ctx, opts) {
    requireSystem(ctx);
    const [source = '', targetRef = ''] = opts._;
    const image = resolveImage(ctx, source);
    if (!image) return fail('notFound', `image with reference ${source}`);
    const target = normalizeReference(targetRef);
    const engineTarget = !ctx.config.isDocker && target.startsWith('docker.io/') ? engineCandidates(ctx, target).at(-1) ?? target : target;
    const r = ctx.engine.run(['tag', image.engineRef, engineTarget]);
    if (r.code !== 0) fail('internalError', `failed to tag image ${source}`, engineMessage(r));
    ctx.io.out(`${targetRef}\n`);
    return 0;
  },
};

/** @type {import('./command.mjs').Group} */
export const IMAGE_GROUP = { group: 'image', aliases: { ls: 'list', i: 'inspect' }, commands: { list, inspect, pull, tag } };

/** @type {Command} */
export const BUILD = {
  spec: {
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
      { key: 'pull', names: ['--pull'], type: 'flag', since: 'build.pull' },
      { key: 'quiet', names: ['-q', '--quiet'], type: 'flag' },
      { key: 'secret', names: ['--secret'], type: 'array', since: 'build.secret' },
      { key: 'ssh', names: ['--ssh'], type: 'array', since: 'build.ssh' },
      { key: 'cpus', names: ['-c', '--cpus'], type: 'value' },
      { key: 'memory', names: ['-m', '--memory'], type: 'value' },
      { key: 'dns', names: ['--dns'], type: 'array' },
      { key: 'progress', names: ['--progress'], type: 'value', choices: ['auto', 'plain', 'tty'] },
      { key: 'vsockPort', names: ['--vsock-port'], type: 'value' },
    ],
    positionals: [],
    rest: 'context-dir',
  },
  async run(ctx, opts) {
    const { release } = ctx;
    const context = opts.rest[0] ?? '.';
    // validate() runs before anything else, the system included (ArgumentParser): usage errors, exit 64.
    if (!fs.existsSync(context)) throw usageExit(`context dir does not exist ${context}`, BUILD.spec.usage, BUILD.spec.path);
    const dockerfile = opts.file ?? (['Dockerfile', 'Containerfile'].map((name) => path.join(context, name)).find((f) => fs.existsSync(f)) ?? null);
    if (release.has('build.dockerfile-validated') && opts.file && opts.file !== '-' && !fs.existsSync(opts.file)) {
      throw usageExit(`dockerfile does not exist ${opts.file}`, BUILD.spec.usage, BUILD.spec.path);
    }
    requireSystem(ctx);
    // The CLI reads the Dockerfile itself and hands the bytes to the builder: a missing one fails the build.
    if (dockerfile === null) fail('internalError', 'build failed', `failed to find Dockerfile or Containerfile in the context directory ${context}`);
    if (dockerfile !== '-') {
      let size;
      try {
        size = fs.statSync(dockerfile).size;
      } catch {
        return fail('internalError', 'build failed', `The file “${path.basename(dockerfile)}” couldn’t be opened because there is no such file.`);
      }
      if (release.has('build.dockerfile-size-limit') && size >= 16 * 1024) {
        fail('invalidArgument', `Dockerfile size (${size} bytes) exceeds the maximum allowed size of ${16 * 1024} bytes. See https://github.com/apple/container/issues/735.`);
      }
    }
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
    if (!ctx.config.isDocker) for (const s of opts.ssh) args.push('--ssh', s);
    args.push(context);
    // Build logs go to stderr; Apple's build prints nothing useful on stdout (§3.9).
    const code = await ctx.engine.attached(args, ['ignore', 2, 2]);
    if (code !== 0) fail('internalError', 'build failed', `${ctx.config.engine} build exited with status ${code}`);
    // The last line: the names as Apple normalises them (BuildCommand.swift print(finalMessage)).
    const names = opts.tag.map((/** @type {string} */ t) => normalizeReference(t));
    if (!opts.output.length) ctx.io.out(release.has('build.names-stdout') ? `${names.join('\n')}\n` : `Successfully built ${names.join(', ')}\n`);
    return 0;
  },
};
