import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppleRuntime } from '../../src/runtime/apple/apple-runtime.js';
import { engineEnv } from './engines.js';

export const CONTAINER_DOUBLE = join(import.meta.dirname, '../../tools/container-double/container.mjs');

/**
 * The environment that makes Berth's Apple adapter drive the test double of Apple's `container`
 * CLI (real podman containers underneath), emulating `version`, with its own state folder.
 */
export function appleDoubleEnv(version: string): NodeJS.ProcessEnv {
  return {
    ...engineEnv(),
    BERTH_CONTAINER_BIN: CONTAINER_DOUBLE,
    CONTAINER_DOUBLE_ENGINE: 'podman',
    CONTAINER_DOUBLE_VERSION: version,
    CONTAINER_DOUBLE_STATE: mkdtempSync(join(tmpdir(), `berth-apple-double-${version}-`)),
  };
}

/** An Apple adapter on the double; allowed to start the double's "system", as a user would allow. */
export function appleOnDouble(version: string): AppleRuntime {
  return new AppleRuntime({ env: appleDoubleEnv(version), startSystem: true });
}
