// @ts-check
// The `system` group: start, stop, status, version (the apiserver is a flag in system.json).

import fs from 'node:fs';
import path from 'node:path';
import { FORMAT_OPTION, requireFormat } from '../core/args.mjs';
import { fail, usageExit } from '../core/errors.mjs';
import { printJson, renderTable } from '../core/output.mjs';
import { appRoot, installRoot, kernelInstalled, readSystem, writeSystem } from '../core/system-state.mjs';
import { isMachine, listRecords, listRecordsRaw } from '../model/containers.mjs';
import { ensureDefaultNetwork } from '../model/networks.mjs';
import { forEachContainer, stopOne } from './containers.mjs';

/** @typedef {import('./command.mjs').Command} Command */
/** @typedef {import('../core/context.mjs').Ctx} Ctx */

const KERNEL_URL =
  'https://github.com/kata-containers/kata-containers/releases/download/3.17.0/kata-static-3.17.0-arm64.tar.xz';

/**
 * A swift-log StreamLogHandler line.
 * @param {string} level
 * @param {string} message
 * @param {Record<string, unknown>} [metadata]
 */
function swiftLog(level, message, metadata) {
  const now = new Date();
  const ts = `${now.toISOString().replace(/\.\d{3}Z$/, '')}+0000`;
  const meta = metadata ? ` ${Object.entries(metadata).map(([k, v]) => `${k}=${v}`).join(' ')}` : '';
  return `${ts} ${level} com.apple.container.cli :${meta} [ContainerCommands] ${message}\n`;
}

/**
 * One line of stdin, read byte by byte (nothing more is consumed); null at EOF with nothing read.
 * @param {Ctx} ctx
 */
function readAnswer(ctx) {
  ctx.io.flush();
  const buffer = Buffer.alloc(1);
  let line = '';
  for (;;) {
    let n;
    try {
      n = fs.readSync(0, buffer, 0, 1, null);
    } catch (e) {
      if (/** @type {NodeJS.ErrnoException} */ (e).code === 'EAGAIN') continue;
      return null;
    }
    if (n === 0) return line === '' ? null : line;
    const ch = buffer.toString('utf8');
    if (ch === '\n') return line;
    line += ch;
  }
}

/** @type {Command} */
const start = {
  spec: {
    usage: 'container system start [<options>]',
    path: 'system start',
    options: [
      { key: 'appRoot', names: ['-a', '--app-root'], type: 'value' },
      { key: 'installRoot', names: ['--install-root'], type: 'value' },
      { key: 'logRoot', names: ['--log-root'], type: 'value' },
      { key: 'enableKernel', names: ['--enable-kernel-install'], type: 'flag' },
      { key: 'disableKernel', names: ['--disable-kernel-install'], type: 'flag' },
      { key: 'timeout', names: ['--timeout'], type: 'value', value: 'timeout', check: (v) => /^\d+$/.test(v), since: 'system start.timeout' },
    ],
    positionals: [],
  },
  run(ctx, opts) {
    const { config, io } = ctx;
    if (opts.enableKernel && opts.disableKernel) {
      throw usageExit("Value to be set with flag '--disable-kernel-install' had already been set with flag '--enable-kernel-install'", start.spec.usage, start.spec.path);
    }
    const toStderr = ctx.release.has('system start.progress-stderr');
    /** @param {string} line */
    const progress = (line) => (toStderr ? io.err(`${line}\n`) : io.out(`${line}\n`));
    const sys = readSystem(config);
    const wasRunning = sys.running === true;
    progress('Launching container-apiserver...');
    progress(toStderr ? 'Testing access to container-apiserver...' : 'Verifying apiserver is running...');
    if (toStderr) progress('Verifying machine API server is running...');
    if (!wasRunning) {
      // A fresh apiserver: every container comes back stopped, start dates are forgotten and
      // leftover --rm containers are reaped (ContainersService.loadAtBoot).
      for (const rec of listRecordsRaw(ctx)) {
        if (rec.state === 'running') ctx.engine.run(['stop', '-t', '0', rec.engineName]);
        if (rec.stored.x.autoRemove && (rec.startedMs !== undefined || rec.state === 'running')) ctx.engine.run(['rm', '-f', rec.engineName]);
      }
      sys.bootMs = Date.now();
    }
    sys.registered = true;
    sys.running = true;
    if (opts.appRoot) sys.appRoot = `${path.resolve(opts.appRoot)}/`;
    if (opts.installRoot) sys.installRoot = `${path.resolve(opts.installRoot)}/`;
    if (opts.logRoot) sys.logRoot = `${path.resolve(opts.logRoot)}/`;
    ensureDefaultNetwork(ctx);
    if (!sys.vminitInstalled) {
      progress('Installing base container filesystem...');
      sys.vminitInstalled = true;
    }
    writeSystem(config, sys);
    if (!kernelInstalled(config, sys)) {
      if (opts.enableKernel) {
        progress('Installing kernel...');
        sys.kernelInstalled = true;
        writeSystem(config, sys);
      } else if (!opts.disableKernel) {
        io.out(`Install the recommended default kernel from [${KERNEL_URL}]? [Y/n]: `);
        const answer = readAnswer(ctx);
        if (answer === null) return fail('invalidArgument', 'failed to read user input');
        if (answer.trim() === '' || /^y(es)?$/i.test(answer.trim())) {
          progress('Installing kernel...');
          sys.kernelInstalled = true;
          writeSystem(config, sys);
        }
      }
    }
    return 0;
  },
};

/** @type {Command} */
const stop = {
  spec: { usage: 'container system stop [--prefix <prefix>]', path: 'system stop', options: [{ key: 'prefix', names: ['-p', '--prefix'], type: 'value' }], positionals: [] },
  async run(ctx, opts) {
    const { io } = ctx;
    const prefix = opts.prefix ?? 'com.apple.container.';
    const sys = readSystem(ctx.config);
    const label = `gui/${process.getuid?.() ?? 501}/${prefix}apiserver`;
    io.out(swiftLog('info', 'checking if APIServer is alive'));
    if (sys.running) {
      io.out(swiftLog('info', 'stopping containers', { stopTimeoutSeconds: 5 }));
      const records = listRecords(ctx).filter((r) => !isMachine(ctx, r));
      await forEachContainer(ctx, records.map((r) => r.id), records, (rec) => stopOne(ctx, rec, 5));
      io.out(swiftLog('info', 'waiting for containers to exit'));
      io.out(swiftLog('info', 'stopping service', { label }));
    } else {
      io.out(swiftLog('info', 'APIServer health check failed, skipping bootout'));
    }
    writeSystem(ctx.config, { ...sys, registered: false, running: false });
    return 0;
  },
};

/** @type {Command} */
const status = {
  since: 'system status',
  spec: {
    usage: 'container system status [--prefix <prefix>] [--format <format>]',
    path: 'system status',
    options: [{ key: 'prefix', names: ['-p', '--prefix'], type: 'value' }, { ...FORMAT_OPTION, since: 'system status.format' }],
    positionals: [],
  },
  run(ctx, opts) {
    const { config, io, release } = ctx;
    const format = requireFormat(opts.format);
    const sys = readSystem(config);
    const apiVersion = `container-apiserver version ${config.version} (build: release, commit: ${config.shortCommit})`;
    if (!sys.running) {
      const registered = sys.registered === true;
      if (format === 'json') {
        printJson(ctx, { apiServerAppName: '', apiServerBuild: '', apiServerCommit: '', apiServerVersion: '', appRoot: '', installRoot: '', status: registered ? 'not running' : 'unregistered' });
      } else {
        io.out(registered ? 'apiserver is not running\n' : 'apiserver is not running and not registered with launchd\n');
      }
      return 1;
    }
    if (format === 'json') {
      printJson(ctx, {
        apiServerAppName: 'container-apiserver',
        apiServerBuild: 'release',
        apiServerCommit: config.commit,
        apiServerVersion: apiVersion,
        appRoot: appRoot(config, sys),
        installRoot: installRoot(config, sys),
        logRoot: sys.logRoot,
        status: 'running',
      });
      return 0;
    }
    if (release.has('system status.format')) {
      io.out(
        renderTable([
          ['FIELD', 'VALUE'],
          ['status', 'running'],
          ['appRoot', appRoot(config, sys)],
          ['installRoot', installRoot(config, sys)],
          ['logRoot', sys.logRoot ?? ''],
          ['apiserver.version', apiVersion],
          ['apiserver.commit', config.commit],
          ['apiserver.build', 'release'],
          ['apiserver.appName', 'container-apiserver'],
        ]),
      );
    } else if (release.has('system status.roots')) {
      io.out(
        `apiserver is running\napplication data root: ${appRoot(config, sys)}\napplication install root: ${installRoot(config, sys)}\n` +
          `container-apiserver version: ${apiVersion}\ncontainer-apiserver commit: ${config.commit}\n`,
      );
    } else {
      io.out('Verifying apiserver is running...\napiserver is running\n');
    }
    return 0;
  },
};

/** @type {Command} */
const version = {
  since: 'system version',
  spec: { usage: 'container system version [--format <format>]', path: 'system version', options: [FORMAT_OPTION], positionals: [] },
  run(ctx, opts) {
    const { config } = ctx;
    const format = requireFormat(opts.format);
    const sys = readSystem(config);
    const rows = [{ appName: 'container', buildType: 'release', commit: config.commit, version: config.version }];
    if (sys.running) {
      rows.push({ appName: 'container-apiserver', buildType: 'release', commit: config.commit, version: `container-apiserver version ${config.version} (build: release, commit: ${config.shortCommit})` });
    }
    if (format === 'json') {
      printJson(ctx, rows);
      return 0;
    }
    ctx.io.out(renderTable([['COMPONENT', 'VERSION', 'BUILD', 'COMMIT'], ...rows.map((r) => [r.appName, r.version, r.buildType, r.commit])]));
    return 0;
  },
};

/** @type {import('./command.mjs').Group} */
export const SYSTEM_GROUP = { group: 'system', aliases: {}, commands: { start, stop, status, version } };
