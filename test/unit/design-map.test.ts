import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');
const SRC = join(ROOT, 'src');

/**
 * The paths DESIGN.md's layout block names under `src/`, read as a tree: each entry's first word,
 * nested by its indentation (two spaces a level). Continuation lines of a description are indented
 * past the names and carry no name of their own.
 */
function layoutPaths(design: string): Set<string> {
  const block = /^## Layout[^\n]*\n+```\n(src\/\n[\s\S]*?)```/m.exec(design);
  if (block === null) throw new Error('DESIGN.md has no "## Layout" section with a ```src/ block');
  const paths = new Set<string>();
  const stack: string[] = [];
  for (const line of block[1]!.split('\n').slice(1)) {
    const match = /^( +)(\S+)/.exec(line);
    if (match === null) break; // the first unindented line (test/, tools/, ...) ends src/
    const depth = match[1]!.length / 2 - 1;
    const name = match[2]!;
    // A name is a file (x.ts) or a folder (x/); anything else is a description's continuation.
    if (!Number.isInteger(depth) || depth > stack.length || !/^[\w.-]+(\/|\.\w+)$/.test(name)) continue;
    stack.length = depth;
    const path = [...stack, name.replace(/\/$/, '')].join('/');
    paths.add(path);
    if (name.endsWith('/')) stack.push(name.replace(/\/$/, ''));
  }
  return paths;
}

/** Every folder under src/ (at any depth) and every file directly in src/, relative to src/. */
function treePaths(): string[] {
  const found: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) {
        found.push(relative(SRC, full));
        walk(full);
      } else if (dir === SRC) {
        found.push(entry.name);
      }
    }
  };
  walk(SRC);
  return found.sort();
}

// DESIGN.md is the newcomer's map: its layout must name what is there and nothing that is not.
describe('DESIGN.md layout', () => {
  const named = layoutPaths(readFileSync(join(ROOT, 'docs/DESIGN.md'), 'utf8'));

  it('names every folder under src/ and every file at its top', () => {
    const tree = treePaths();
    expect(tree.length).toBeGreaterThan(15);
    expect(tree.filter((path) => !named.has(path))).toEqual([]);
  });

  it('names nothing under src/ that does not exist', () => {
    expect([...named].filter((path) => !existsSync(join(SRC, path)))).toEqual([]);
  });
});
