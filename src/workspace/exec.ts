import { BerthError, isBerthError } from '../errors.js';
import type { InteractiveExecOptions, Runtime } from '../runtime/types.js';

/**
 * An interactive exec in a workspace's container, by engine id. The engine's own errors reach the
 * terminal directly, so a failure is followed by one look at whether the container is gone, to say
 * so in workspace terms; a command that succeeds pays nothing for this.
 */
export async function execInWorkspace(
  runtime: Runtime,
  workspace: string,
  target: string,
  argv: readonly string[],
  options: InteractiveExecOptions = {},
): Promise<number> {
  const exitCode = await runtime.execInteractive(target, argv, options);
  if (exitCode !== 0) await runtime.inspect(target).catch((error: unknown) => rethrowIfGone(error, runtime, workspace, target));
  return exitCode;
}

/** Turns "no container <engine id>" into "the workspace's container is gone; berth up recreates it". */
export function rethrowIfGone(error: unknown, runtime: Runtime, workspace: string, target: string): never {
  if (isBerthError(error, 'E_NOT_FOUND') && error.details?.['what'] === 'container' && error.details['name'] === target) {
    throw new BerthError('E_NOT_FOUND', `The container of workspace "${workspace}" no longer exists on ${runtime.kind}.`, {
      hint: `\`berth up ${workspace}\` recreates it.`,
      cause: error,
    });
  }
  throw error;
}
