import { existsSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Runs the test files longest first, by the durations recorded in test/durations.json
 * (scripts/test-durations.mjs writes it from a full run's report). CI starts from a clean clone, so
 * vitest's own cache of durations is empty there and it orders by file size: the three-line files
 * that run a whole suite on one engine (crash-podman, cli-podman, egress-apple-0.9 …) came last and
 * one worker idled while the other finished them. Longest first, the workers end within seconds of
 * each other. A file missing from the list (new since the last recording) runs first: its cost is
 * unknown, and early is where a long one hurts least.
 */
export class DurationSequencer extends BaseSequencer {
  override sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const root = this.ctx.config.root;
    const recorded = readDurations(join(root, 'test/durations.json'));
    const seconds = (spec: TestSpecification): number => recorded[relative(root, spec.moduleId)] ?? Number.POSITIVE_INFINITY;
    const key = (spec: TestSpecification): string => relative(root, spec.moduleId);
    return Promise.resolve([...files].sort((a, b) => seconds(b) - seconds(a) || key(a).localeCompare(key(b))));
  }
}

function readDurations(path: string): Record<string, number> {
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as Record<string, number>) : {};
}
