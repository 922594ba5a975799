import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The engines' environment as scripts/test-env.sh left it: DOCKER_HOST for the private dockerd,
 * CONTAINERS_CONF for podman, and the test image. Read from its env file, so `npx vitest` works
 * without sourcing anything; variables already set win.
 *
 * Without NODE_EXTRA_CA_CERTS: Node 20 parses that bundle at every start (the system's, 220 KB
 * on this machine: `node -e 0` takes 0.12 s of CPU instead of 0.03), and the Node processes the
 * tests start with this environment (the Apple double, thousands of times a run; the Berth CLI)
 * talk only to loopback and the tests' own containers, never TLS to the outside. npm in
 * packed-install.test.ts keeps it (it runs with process.env).
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
  const env: NodeJS.ProcessEnv = { ...fromFile, ...process.env };
  delete env['NODE_EXTRA_CA_CERTS'];
  return env;
}

export const TEST_IMAGE = engineEnv()['BERTH_TEST_IMAGE'] ?? 'berth-workspace:test';

export const SETUP_HINT = 'Run scripts/test-env.sh (as root on Debian it installs and starts everything), then run the tests again.';
