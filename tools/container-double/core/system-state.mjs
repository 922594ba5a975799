// @ts-check
// The double's own state: the system flag (the apiserver "registration"), the boot time, the kernel
// flag and the roots, in <state dir>/system.json.

import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { xpcFailure } from './errors.mjs';

/**
 * @typedef {object} SystemState
 * @property {boolean} registered
 * @property {boolean} running
 * @property {boolean} kernelInstalled
 * @property {boolean} vminitInstalled
 * @property {number} [bootMs] When the apiserver last started: start dates before it are forgotten.
 * @property {string} [appRoot]
 * @property {string} [installRoot]
 * @property {string} [logRoot]
 */

/** @param {Readonly<import('./config.mjs').Config>} config */
function systemFile(config) {
  return path.join(config.stateDir, 'system.json');
}

/**
 * @param {Readonly<import('./config.mjs').Config>} config
 * @returns {SystemState}
 */
export function readSystem(config) {
  try {
    return JSON.parse(fs.readFileSync(systemFile(config), 'utf8'));
  } catch {
    return { registered: false, running: false, kernelInstalled: false, vminitInstalled: false };
  }
}

/**
 * Atomically (a parallel double reads it at any time).
 * @param {Readonly<import('./config.mjs').Config>} config
 * @param {SystemState} state
 */
export function writeSystem(config, state) {
  fs.mkdirSync(config.stateDir, { recursive: true });
  const file = systemFile(config);
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  fs.writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
  fs.renameSync(tmp, file);
}

/**
 * @param {Readonly<import('./config.mjs').Config>} config
 * @param {SystemState} sys
 */
export function kernelInstalled(config, sys) {
  return config.kernelPreinstalled || sys.kernelInstalled === true;
}

/**
 * Fails like the real CLI when the apiserver is not up; returns the system state otherwise.
 * @param {import('./context.mjs').Ctx} ctx
 * @param {'list' | 'plain'} [kind]
 */
export function requireSystem(ctx, kind = 'plain') {
  const sys = readSystem(ctx.config);
  if (!sys.running) throw xpcFailure(ctx.release, kind);
  return sys;
}

/**
 * @param {Readonly<import('./config.mjs').Config>} config
 * @param {SystemState} sys
 */
export function appRoot(config, sys) {
  return sys.appRoot ?? `${config.stateDir}/`;
}

/**
 * @param {Readonly<import('./config.mjs').Config>} config
 * @param {SystemState} sys
 */
export function installRoot(config, sys) {
  if (sys.installRoot) return sys.installRoot;
  return `${path.dirname(path.dirname(path.resolve(config.binary)))}/`;
}
