import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');

/**
 * docs/security.md promises a test behind every guarantee. A renamed or deleted test file would
 * leave a promise with nothing behind it: each row must name at least one test, and every path it
 * names (a `*` stands for the per-runtime files) must exist.
 */
describe('docs/security.md', () => {
  const doc = readFileSync(join(ROOT, 'docs/security.md'), 'utf8');
  const rows = doc.split('\n').filter((line) => line.startsWith('| ') && !line.startsWith('| Guarantee') && !line.startsWith('| ---') && !line.startsWith('| |'));
  const guaranteeRows = rows.filter((line) => line.split('|').length === 5);

  it('has guarantees, each naming a test', () => {
    expect(guaranteeRows.length).toBeGreaterThan(15);
    for (const row of guaranteeRows) expect(row.split('|')[3], row.slice(0, 80)).toMatch(/`(test|bench)\/[^`]+`/);
  });

  it('names only test files that exist', () => {
    const paths = [...doc.matchAll(/`((?:test|bench)\/[^`\s]+)`/g)].map((m) => m[1] ?? '');
    expect(paths.length).toBeGreaterThan(20);
    for (const path of paths) {
      const candidates = path.includes('*') ? ['docker', 'podman'].map((engine) => path.replace('*', engine)) : [path];
      for (const candidate of candidates) expect(existsSync(join(ROOT, candidate)), candidate).toBe(true);
    }
  });
});
