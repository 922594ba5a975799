import { findNodeAtLocation, getNodeValue, parseTree, printParseErrorCode, type Node, type ParseError } from 'jsonc-parser';
import type { DevcontainerProblem } from './problems.js';

/**
 * devcontainer.json is JSONC (comments, trailing commas), parsed with the reference's own parser
 * (jsonc-parser, as devcontainers/cli's src/spec-node/configContainer.ts@v0.88.0 does), but as a
 * tree: every value keeps its offset, so a problem can say line and column.
 */
export interface JsoncDocument {
  file: string;
  /** The value, plain (no prototype tricks: `__proto__` is an ordinary key here). */
  value: unknown;
  /** line:column of a JSON path (`['build', 'args']`), falling back to the nearest parent that exists. */
  locate(path: readonly (string | number)[]): { line: number; column: number };
}

/** Deeper than this is not a devcontainer.json; refusing it keeps the recursive walks bounded. */
const MAX_DEPTH = 64;

export type JsoncResult = { ok: true; document: JsoncDocument } | { ok: false; problems: DevcontainerProblem[] };

export function parseJsonc(text: string, file: string): JsoncResult {
  const errors: ParseError[] = [];
  const lines = lineStarts(text);
  const position = (offset: number): { line: number; column: number } => positionOf(lines, offset);
  const problem = (offset: number, message: string): DevcontainerProblem => ({ severity: 'error', file, ...position(offset), path: '', message });
  let root: Node | undefined;
  try {
    root = parseTree(text, errors, { allowTrailingComma: true, disallowComments: false, allowEmptyContent: true });
  } catch (cause) {
    // The parser recurses: thousands of nested brackets overflow its stack.
    if (cause instanceof RangeError) return { ok: false, problems: [problem(0, `nested too deeply; this is not a devcontainer.json`)] };
    throw cause;
  }
  if (errors.length > 0) {
    // The first few are what a person fixes; the rest usually follow from them.
    return { ok: false, problems: errors.slice(0, 5).map((e) => problem(e.offset, `JSON syntax: ${describeParseError(e)}`)) };
  }
  if (root === undefined) return { ok: false, problems: [problem(0, 'the file is empty; a devcontainer.json is one JSON object')] };
  if (root.type !== 'object') return { ok: false, problems: [problem(root.offset, `a devcontainer.json is one JSON object, this is ${article(root.type)}`)] };
  if (depthOf(root) > MAX_DEPTH) return { ok: false, problems: [problem(root.offset, `nested deeper than ${String(MAX_DEPTH)} levels; this is not a devcontainer.json`)] };
  const value = plainValue(root);
  return {
    ok: true,
    document: {
      file,
      value,
      locate(path) {
        for (let n = path.length; n >= 0; n--) {
          const node = findNodeAtLocation(root, [...path.slice(0, n)]);
          if (node !== undefined) return position(node.parent?.type === 'property' ? node.parent.offset : node.offset);
        }
        return position(0);
      },
    },
  };
}

/** getNodeValue builds objects with `{}`, where a `__proto__` key would set the prototype; this does not. */
function plainValue(node: Node): unknown {
  switch (node.type) {
    case 'object': {
      const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
      for (const property of node.children ?? []) {
        const [key, value] = property.children ?? [];
        if (key === undefined || value === undefined) continue;
        // Last one wins, as JSON.parse and the reference do.
        Object.defineProperty(out, String(key.value), { value: plainValue(value), enumerable: true, writable: true, configurable: true });
      }
      return out;
    }
    case 'array':
      return (node.children ?? []).map(plainValue);
    default:
      return getNodeValue(node) as unknown;
  }
}

function depthOf(root: Node): number {
  // Iterative: a hostile file nested 100,000 deep must not overflow the stack here either.
  let max = 0;
  const stack: [Node, number][] = [[root, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop() as [Node, number];
    if (depth > max) max = depth;
    if (max > MAX_DEPTH) return max;
    for (const child of node.children ?? []) stack.push([child, node.type === 'property' ? depth : depth + 1]);
  }
  return max;
}

function describeParseError(error: ParseError): string {
  const words: Record<string, string> = {
    InvalidSymbol: 'unexpected character',
    InvalidNumberFormat: 'not a number',
    PropertyNameExpected: 'a key in double quotes was expected',
    ValueExpected: 'a value was expected',
    ColonExpected: 'a ":" was expected after the key',
    CommaExpected: 'a "," was expected between entries',
    CloseBraceExpected: 'a "}" was expected (an object is not closed)',
    CloseBracketExpected: 'a "]" was expected (an array is not closed)',
    EndOfFileExpected: 'text after the closing "}"',
    InvalidCommentToken: 'a comment is not closed',
    UnexpectedEndOfComment: 'a comment is not closed',
    UnexpectedEndOfString: 'a string is not closed',
    UnexpectedEndOfNumber: 'a number is cut off',
    InvalidUnicode: 'an invalid \\u escape',
    InvalidEscapeCharacter: 'an invalid escape in a string',
    InvalidCharacter: 'a control character inside a string',
  };
  const code = printParseErrorCode(error.error);
  return words[code] ?? code;
}

function article(type: string): string {
  return type === 'array' ? 'an array' : `a ${type}`;
}

function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) starts.push(i + 1);
    else if (c === 13 && text.charCodeAt(i + 1) !== 10) starts.push(i + 1);
  }
  return starts;
}

function positionOf(starts: readonly number[], offset: number): { line: number; column: number } {
  let low = 0;
  let high = starts.length - 1;
  while (low < high) {
    const mid = (low + high + 1) >> 1;
    if ((starts[mid] ?? 0) <= offset) low = mid;
    else high = mid - 1;
  }
  return { line: low + 1, column: offset - (starts[low] ?? 0) + 1 };
}
