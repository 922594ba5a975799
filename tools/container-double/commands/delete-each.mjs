// @ts-check
// How `network delete` and `volume delete` work through a list of names: all must exist, then one by
// one, a name in use is reported on stderr and skipped, the others are removed and printed, and the
// skipped or failed ones end the command in one error.

import { fail, swiftArray } from '../core/errors.mjs';

/**
 * @param {import('../core/context.mjs').Ctx} ctx
 * @param {{ kind: string, names: string[], known: (name: string) => boolean, inUse: (name: string) => string | null, remove: (name: string) => boolean }} work
 *   `kind` is the plural in the error texts; `inUse` returns the stderr line that refuses a name.
 */
export function deleteEach(ctx, { kind, names, known, inUse, remove }) {
  const missing = names.filter((n) => !known(n));
  if (missing.length) fail('notFound', `failed to delete one or more ${kind}: ${swiftArray(missing)}`);
  /** @type {string[]} */
  const failed = [];
  for (const name of names) {
    const refusal = inUse(name);
    if (refusal !== null) {
      ctx.io.err(refusal);
      failed.push(name);
      continue;
    }
    if (!remove(name)) {
      failed.push(name);
      continue;
    }
    ctx.io.out(`${name}\n`);
  }
  if (failed.length) fail('internalError', `delete failed for one or more ${kind}: ${swiftArray(failed)}`);
}
