import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { openApiDocument } from '../../src/daemon/http/openapi.js';
import { ROUTES } from '../../src/daemon/http/routes.js';
import { workspaceSettingsSchema } from '../../src/orchestrator/manifest-schema.js';
import { RUNTIME_CHOICES, RUNTIME_KINDS } from '../../src/runtime/kinds.js';
import { parseRuntimeChoice } from '../../src/runtime/select.js';

const SRC = join(import.meta.dirname, '../../src');
const KINDS: readonly string[] = RUNTIME_KINDS;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/**
 * Lists of runtime kinds written out in code: an array literal or a union type with three or more
 * of the kinds as string literals, or a string such as "apple|docker|podman". Read from the syntax
 * tree, so comments do not count and cannot satisfy the check.
 */
function handWrittenLists(file: string, text: string): string[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const kindsIn = (nodes: readonly ts.Node[]): number =>
    new Set(
      nodes.flatMap((node) => {
        const literal = ts.isLiteralTypeNode(node) ? node.literal : node;
        return ts.isStringLiteralLike(literal) && KINDS.includes(literal.text) ? [literal.text] : [];
      }),
    ).size;
  const visit = (node: ts.Node): void => {
    const line = source.getLineAndCharacterOfPosition(node.getStart()).line + 1;
    if (ts.isArrayLiteralExpression(node) && kindsIn(node.elements) >= 3) found.push(`${relative(SRC, file)}:${String(line)} array`);
    if (ts.isUnionTypeNode(node) && kindsIn(node.types) >= 3) found.push(`${relative(SRC, file)}:${String(line)} union type`);
    if (ts.isStringLiteralLike(node) && KINDS.filter((kind) => new RegExp(`(^|[|,/ ])${kind}([|,/ ]|$)`).test(node.text)).length >= 3 && /\w[|,/]\s?\w/.test(node.text)) {
      found.push(`${relative(SRC, file)}:${String(line)} string`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe('the runtime kinds are written once (src/runtime/kinds.ts)', () => {
  it('no other source file spells out a list of them', () => {
    const lists = sourceFiles(SRC)
      .filter((file) => relative(SRC, file) !== join('runtime', 'kinds.ts'))
      .flatMap((file) => handWrittenLists(file, readFileSync(file, 'utf8')));
    expect(lists).toEqual([]);
  });

  it('the check itself sees arrays, union types and joined strings, and ignores comments', () => {
    const text = [
      "const a = ['apple', 'docker', 'podman', 'host'];",
      "type B = 'docker' | 'podman' | 'host';",
      "const c = 'use apple|docker|podman';",
      "// ['apple', 'docker', 'podman', 'host']",
      "type OciKind = 'docker' | 'podman';",
      "const prose = 'Install docker or podman (or Apple container) for isolation';",
    ].join('\n');
    expect(handWrittenLists(join(SRC, 'x.ts'), text)).toEqual(['x.ts:1 array', 'x.ts:2 union type', 'x.ts:3 string']);
  });

  it('the OpenAPI document names exactly these kinds', () => {
    const document = openApiDocument(ROUTES, '0.0.0') as { components: { schemas: { Workspace: { properties: { runtime: { enum: unknown } } } } } };
    expect(document.components.schemas.Workspace.properties.runtime.enum).toEqual([...RUNTIME_KINDS]);
  });

  it('the manifest schema takes each kind and nothing else', () => {
    for (const kind of RUNTIME_KINDS) expect(workspaceSettingsSchema.safeParse({ runtime: kind }).success).toBe(true);
    for (const other of ['auto', 'Docker', 'lxc', '']) expect(workspaceSettingsSchema.safeParse({ runtime: other }).success).toBe(false);
  });

  it('config.json and --runtime take each kind and auto, and nothing else', () => {
    const home = mkdtempSync(join(tmpdir(), 'berth-kinds-'));
    try {
      for (const choice of RUNTIME_CHOICES) {
        writeFileSync(join(home, 'config.json'), JSON.stringify({ runtime: choice }));
        expect(loadConfig(home).runtime).toBe(choice);
        expect(parseRuntimeChoice(choice, 'test')).toBe(choice);
      }
      writeFileSync(join(home, 'config.json'), JSON.stringify({ runtime: 'lxc' }));
      expect(() => loadConfig(home)).toThrow(/runtime: expected one of apple, docker, podman, host, auto/);
      expect(() => parseRuntimeChoice('lxc', 'test')).toThrow(/Unknown runtime/);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
