import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The engines' environment as scripts/test-env.sh left it: DOCKER_HOST for the private dockerd,
 * CONTAINERS_CONF for podman, and the test image. Read from its env file, so `npx vitest` works
 * without sourcing anything; variables already set win.
 */
export function engineEnv(): NodeJS.ProcessEnv {
  const state = process.env['BERTH_TEST_STATE'] ?? '/var/tmp/berth-test';
  const file = join(state, 'env');
  const fromFile: Record<string, string> = {};
  if (existsSync(file)) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const match = /^export ([A-Z_]+)=(.*)$/.exec(line);
      if (match?.[1] && match[2] !== undefined) fromFile[match[1]] = match[2];
    }
  }
  return { ...fromFile, ...process.env };
}

export const TEST_IMAGE = engineEnv()['BERTH_TEST_IMAGE'] ?? 'berth-workspace:test';

export const SETUP_HINT = 'Run scripts/test-env.sh (as root on Debian it installs and starts everything), then run the tests again.';
