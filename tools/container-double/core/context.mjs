// @ts-check
// What every command and model function is handed: the configuration, the emulated release, the
// writer and the engine. Made once per invocation by main.mjs.

import { readConfig } from './config.mjs';
import { Engine } from './engine.mjs';
import { Writer } from './output.mjs';
import { releaseFor } from './release.mjs';

/**
 * @typedef {object} Ctx
 * @property {Readonly<import('./config.mjs').Config>} config
 * @property {import('./release.mjs').Release} release
 * @property {Writer} io
 * @property {Engine} engine
 */

/**
 * @param {NodeJS.ProcessEnv} env
 * @param {string} binary
 * @param {Writer} [io]
 * @returns {Ctx}
 */
export function makeContext(env, binary, io = new Writer()) {
  const config = readConfig(env, binary);
  return { config, release: releaseFor(config.version), io, engine: new Engine(config, io) };
}
