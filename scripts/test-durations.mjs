#!/usr/bin/env node
// Records how long each test file took in a full run, for the sequencer in
// test/support/duration-sequencer.ts (longest files first, so the two workers finish together).
//   node scripts/test-durations.mjs [test-artifacts/vitest.json]   (the report scripts/test.sh writes)
// writes test/durations.json: { "<path from the repo root>": seconds }. Re-run it after a full run
// when files were added or got much slower; a file missing from the list runs first.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = join(import.meta.dirname, '..');
const reportPath = process.argv[2] ?? join(root, 'test-artifacts/vitest.json');
const report = JSON.parse(readFileSync(reportPath, 'utf8'));
/**
 * The file's path from this repository's root; the report may come from another clone (CI's).
 * @param {string} name
 */
function repoPath(name) {
  for (let at = name.indexOf('test/'); at >= 0; at = name.indexOf('test/', at + 1)) {
    if (existsSync(join(root, name.slice(at)))) return name.slice(at);
  }
  return relative(root, name);
}

/** @type {Record<string, number>} */
const durations = {};
const rows = report.testResults
  .map((/** @type {{ name: string, startTime: number, endTime: number }} */ r) => [repoPath(r.name), Math.max(0, Math.round((r.endTime - r.startTime) / 1000))])
  .sort((/** @type {[string, number]} */ a, /** @type {[string, number]} */ b) => b[1] - a[1] || a[0].localeCompare(b[0]));
for (const [file, seconds] of rows) durations[file] = seconds;
writeFileSync(join(root, 'test/durations.json'), `${JSON.stringify(durations, null, 2)}\n`);
console.log(`test/durations.json: ${rows.length} files, ${rows.reduce((/** @type {number} */ s, /** @type {[string, number]} */ r) => s + r[1], 0)} s in all`);
