import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const SRC = join(import.meta.dirname, '../../src');
const CHILD_PROCESS = new Set(['child_process', 'node:child_process']);
/** child_process functions that run a command line through a shell, or could be told to. */
const SHELL_RUNNERS = new Set(['exec', 'execSync', 'execFile', 'execFileSync', 'spawnSync', 'fork']);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );
}

function parse(path: string, text: string): ts.SourceFile {
  return ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
}

function walk(node: ts.Node, visit: (node: ts.Node) => void): void {
  visit(node);
  node.forEachChild((child) => walk(child, visit));
}

/** Every way a module can load child_process: import/export declarations, import(), require(). Comments and strings elsewhere do not count. */
function loadsChildProcess(source: ts.SourceFile): boolean {
  let found = false;
  walk(source, (node) => {
    const specifier =
      (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)
        ? node.moduleSpecifier.text
        : ts.isCallExpression(node) && (node.expression.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(node.expression) && node.expression.text === 'require'))
          ? node.arguments[0] && ts.isStringLiteralLike(node.arguments[0])
            ? node.arguments[0].text
            : '(computed)'
          : undefined;
    if (specifier !== undefined && (CHILD_PROCESS.has(specifier) || specifier === '(computed)')) found = true;
  });
  return found;
}

/** The names run.ts imports from child_process (values only; `import type` is harmless), and whether it takes the whole namespace. */
function childProcessImports(source: ts.SourceFile): { names: string[]; namespace: boolean } {
  const names: string[] = [];
  let namespace = false;
  for (const statement of source.statements) {
    if (!ts.isImportDeclaration(statement) || !ts.isStringLiteral(statement.moduleSpecifier) || !CHILD_PROCESS.has(statement.moduleSpecifier.text)) continue;
    const clause = statement.importClause;
    if (!clause || clause.isTypeOnly) continue;
    if (clause.name) namespace = true;
    const bindings = clause.namedBindings;
    if (bindings && ts.isNamespaceImport(bindings)) namespace = true;
    if (bindings && ts.isNamedImports(bindings)) {
      for (const element of bindings.elements) if (!element.isTypeOnly) names.push((element.propertyName ?? element.name).text);
    }
  }
  return { names, namespace };
}

/** Each call to `spawn(...)`, with the value its options object gives `shell` (the source text), or why it has none. */
function spawnCalls(source: ts.SourceFile): string[] {
  const calls: string[] = [];
  walk(source, (node) => {
    if (!ts.isCallExpression(node) || !ts.isIdentifier(node.expression) || node.expression.text !== 'spawn') return;
    const options = node.arguments[2];
    if (!options || !ts.isObjectLiteralExpression(options)) {
      calls.push('options not an object literal');
      return;
    }
    const shell = options.properties.find((p) => ts.isPropertyAssignment(p) && p.name.getText(source) === 'shell');
    const spread = options.properties.some((p) => ts.isSpreadAssignment(p));
    calls.push(spread ? 'options spread (shell could come from it)' : shell && ts.isPropertyAssignment(shell) ? `shell: ${shell.initializer.getText(source)}` : 'no shell option');
  });
  return calls;
}

// The runtime half of this guarantee is in test/process/run.test.ts and the contract suite:
// hostile arguments arrive verbatim on the host and inside containers. These read the syntax
// tree, so a comment or a string that mentions child_process or `shell: false` proves nothing.
describe('no code path spawns through a shell', () => {
  const files = sourceFiles(SRC).map((file) => ({ path: relative(SRC, file), source: parse(file, readFileSync(file, 'utf8')) }));
  const runner = files.find((f) => f.path === 'process/run.ts')?.source;

  it('only src/process/run.ts loads child_process (import, export, import() or require)', () => {
    expect(files.filter((f) => loadsChildProcess(f.source)).map((f) => f.path)).toEqual(['process/run.ts']);
  });

  it('src/process/run.ts imports spawn by name, and none of the shell-capable runners', () => {
    if (!runner) throw new Error('src/process/run.ts is missing');
    const imported = childProcessImports(runner);
    expect(imported.namespace).toBe(false);
    expect(imported.names).toContain('spawn');
    expect(imported.names.filter((name) => SHELL_RUNNERS.has(name))).toEqual([]);
  });

  it('every spawn() call passes an options object literal with shell: false', () => {
    if (!runner) throw new Error('src/process/run.ts is missing');
    const calls = spawnCalls(runner);
    expect(calls.length).toBeGreaterThan(0);
    expect(calls).toEqual(calls.map(() => 'shell: false'));
  });

  it('the checks see through comments and strings (self-test on hostile snippets)', () => {
    const fooled = parse('x.ts', "// import { exec } from 'node:child_process';\nconst s = \"from 'child_process'\";\n");
    expect(loadsChildProcess(fooled)).toBe(false);
    const sneaky = parse('y.ts', "const cp = await import('node:child_process');\n");
    expect(loadsChildProcess(sneaky)).toBe(true);
    const commented = parse('z.ts', "import { spawn } from 'node:child_process';\nspawn('a', [], { stdio: 'inherit' /* shell: false */ });\n");
    expect(spawnCalls(commented)).toEqual(['no shell option']);
  });
});
