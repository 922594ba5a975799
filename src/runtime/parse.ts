import type { z } from 'zod';
import { badOutput } from './errors.js';

/**
 * Parses a runtime's JSON output against a schema. A failure names the command and the first field
 * that did not fit, e.g. `field [0].State.Status: expected string, received number`.
 */
export function parseJsonOutput<T extends z.ZodType>(schema: T, text: string, command: readonly string[]): z.output<T> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    const preview = text.length > 120 ? `${text.slice(0, 120)}…` : text;
    throw badOutput(command, '', `not JSON (${JSON.stringify(preview)})`, cause);
  }
  return parseRecord(schema, value, command);
}

/** The same check for a value that is already decoded (an engine API's JSON body). */
export function parseRecord<T extends z.ZodType>(schema: T, value: unknown, command: readonly string[]): z.output<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw badOutput(command, issue ? formatPath(issue.path) : '', issue?.message ?? 'does not match', result.error);
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.map((key, i) => (typeof key === 'number' ? `[${String(key)}]` : `${i === 0 ? '' : '.'}${String(key)}`)).join('');
}
