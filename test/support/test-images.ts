import { run } from '../../src/process/index.js';
import type { OciKind } from '../../src/runtime/oci/oci-runtime.js';
import { engineEnv } from './engines.js';

/** The label every image a test builds carries, so the test can find (and remove) all of them. */
export const TEST_RUN_LABEL = 'dev.berth.test-run';

/**
 * Removes every image in `engine` labelled dev.berth.test-run=<run>: the tags a test built and the
 * dangling images a rebuild under the same tag left behind (they keep the label). Runtime has no
 * image removal (Berth never removes images), so this asks the engine CLI. The Apple double builds
 * into podman. Removes nothing else: another run's label never matches.
 */
export async function removeRunImages(engine: OciKind, runToken: string): Promise<string[]> {
  const env = engineEnv();
  const listed = await run([engine, 'image', 'ls', '--quiet', '--no-trunc', '--filter', `label=${TEST_RUN_LABEL}=${runToken}`], { env });
  const ids = [...new Set(listed.stdout.split('\n').map((line) => line.trim()).filter((line) => line !== ''))];
  if (ids.length > 0) await run([engine, 'image', 'rm', '--force', ...ids], { env });
  return ids;
}
