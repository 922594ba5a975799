import { BerthError } from '../errors.js';

const WORKSPACE_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** Throws a clear error unless `id` is a valid workspace id: lower-case letters, digits and "-", up to 63. */
export function validateWorkspaceId(id: string): void {
  if (WORKSPACE_ID.test(id)) return;
  throw new BerthError('E_INVALID_INPUT', `Invalid workspace id ${JSON.stringify(id)}.`, {
    hint: 'Use 1 to 63 lower-case letters, digits or "-", starting with a letter or digit (e.g. my-app).',
  });
}

/** The container behind a workspace. The name alone never grants ownership: labels do. */
export function containerNameFor(id: string): string {
  return `berth-${id}`;
}
