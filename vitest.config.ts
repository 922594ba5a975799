import { defineConfig } from 'vitest/config';
import { DurationSequencer } from './test/support/duration-sequencer.js';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Real engines on a 2-core machine: bounded parallelism keeps timings honest.
    maxWorkers: 2,
    minWorkers: 1,
    // Longest files first (test/durations.json), so the two workers finish together.
    sequence: { sequencer: DurationSequencer },
    testTimeout: 60_000,
    hookTimeout: 120_000,
    restoreMocks: true,
    unstubEnvs: true,
    reporters: process.env.CI ? ['verbose'] : ['default'],
  },
});
