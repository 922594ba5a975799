import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = join(import.meta.dirname, '../../src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );
}

// The runtime half of this guarantee is in test/process/run.test.ts and the contract suite:
// hostile arguments arrive verbatim on the host and inside containers.
describe('no code path spawns through a shell', () => {
  const files = sourceFiles(SRC).map((file) => ({ path: relative(SRC, file), text: readFileSync(file, 'utf8') }));

  it('only src/process imports child_process', () => {
    const importers = files.filter((f) => /from ['"](node:)?child_process['"]/.test(f.text)).map((f) => f.path);
    expect(importers.sort()).toEqual(['process/run.ts']);
  });

  it('src/process uses spawn with shell: false and never exec/execSync', () => {
    const runner = files.find((f) => f.path === 'process/run.ts')?.text ?? '';
    expect(runner).not.toMatch(/\bexec(Sync|File)?\s*\(/);
    expect(runner).not.toMatch(/shell:\s*true/);
    expect(runner.match(/spawn\(/g)?.length).toBe((runner.match(/shell: false/g) ?? []).length);
  });
});
