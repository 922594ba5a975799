import { run } from '../../src/process/index.js';
import { CONTAINER_DOUBLE } from './apple-double.js';
import { engineEnv } from './engines.js';

/** What a user (or another tool) does to containers with the runtime's own CLI, behind Berth's back. */
export interface BehindTheBack {
  /** A container that is not Berth's: a name and label it carries, but no owner. */
  createForeign(name: string, image: string, label: string): Promise<void>;
  stop(...names: string[]): Promise<void>;
  remove(name: string): Promise<void>;
  /** Every container's name, for cleaning up after a test. */
  names(): Promise<string[]>;
  removeNetwork(name: string): Promise<void>;
}

/** docker or podman, through their CLI. */
export function engineCli(engine: 'podman' | 'docker'): BehindTheBack {
  const cli = (args: string[]) => run([engine, ...args], { env: engineEnv(), okExitCodes: 'any' });
  return {
    createForeign: async (name, image, label) => void (await cli(['create', '--name', name, '--label', label, image, 'true'])),
    stop: async (...names) => void (await cli(['stop', '-t', '1', ...names])),
    remove: async (name) => void (await cli(['rm', '-f', name])),
    names: async () => (await cli(['ps', '-a', '--format', '{{.Names}}'])).stdout.split('\n').filter((n) => n !== ''),
    removeNetwork: async (name) => void (await cli(['network', 'rm', name])),
  };
}

/** Apple `container`'s CLI (the test double), in the double's environment `env`. */
export function appleCli(env: NodeJS.ProcessEnv): BehindTheBack {
  const cli = (args: string[]) => run([process.execPath, CONTAINER_DOUBLE, ...args], { env, okExitCodes: 'any' });
  return {
    createForeign: async (name, image, label) => void (await cli(['create', '--name', name, '--label', label, image, 'true'])),
    stop: async (...names) => void (await cli(['stop', '--time', '1', ...names])),
    remove: async (name) => void (await cli(['delete', '--force', name])),
    names: async () => (await cli(['list', '--all', '--quiet'])).stdout.split('\n').filter((n) => n !== ''),
    removeNetwork: async (name) => void (await cli(['network', 'delete', name])),
  };
}
