import { BerthError } from '../errors.js';

/** Exit codes: 1 for what the user can fix, 2 for a malformed command line, 70 for our bugs (EX_SOFTWARE). */
export const EXIT = { ok: 0, user: 1, usage: 2, internal: 70 } as const;

/** A malformed command line: printed with the usage text, exit 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly usage: string | undefined;
  constructor(message: string, usage?: string) {
    super(message);
    this.usage = usage;
  }
}

/** The one error boundary of the CLI process: maps any error to a message, a hint and an exit code. */
export function reportError(error: unknown, json: boolean): number {
  if (error instanceof UsageError) {
    if (json) printJson({ error: { code: 'E_USAGE', message: error.message } });
    process.stderr.write(`berth: ${error.message}\n${error.usage ? `\n${error.usage}` : ''}`);
    return EXIT.usage;
  }
  if (error instanceof BerthError) {
    if (json) printJson({ error: error.toJSON() });
    process.stderr.write(`berth: ${error.message}\n${error.hint ? `hint: ${error.hint}\n` : ''}`);
    return EXIT.user;
  }
  const detail = error instanceof Error ? (process.env['BERTH_DEBUG'] ? (error.stack ?? error.message) : error.message) : String(error);
  if (json) printJson({ error: { code: 'E_INTERNAL', message: detail } });
  process.stderr.write(`berth: internal error: ${detail}\nThis is a bug in Berth. Run again with BERTH_DEBUG=1 for the stack, and report it.\n`);
  return EXIT.internal;
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Prints rows as aligned columns; the last column is not padded. */
export function printTable(header: readonly string[], rows: readonly (readonly string[])[]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ');
  process.stdout.write(`${[line(header), ...rows.map(line)].join('\n')}\n`);
}
