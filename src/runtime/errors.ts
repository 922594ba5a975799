import { BerthError } from '../errors.js';
import { formatCommand } from '../process/format-command.js';
import type { RuntimeKind } from './types.js';

/** The typed errors every adapter raises, so callers never read vendor error text. */

export function notFound(runtime: RuntimeKind, what: 'container' | 'image' | 'network', name: string): BerthError {
  return new BerthError('E_NOT_FOUND', `${runtime}: no ${what} named "${name}".`, {
    hint: what === 'image' ? `Build or pull "${name}" first (Berth never pulls implicitly).` : undefined,
    details: { runtime, what, name },
  });
}

export function conflict(runtime: RuntimeKind, name: string, detail: string, hint?: string): BerthError {
  return new BerthError('E_CONFLICT', `${runtime}: ${detail}`, { hint, details: { runtime, name } });
}

export function notRunning(runtime: RuntimeKind, name: string): BerthError {
  return new BerthError('E_NOT_RUNNING', `${runtime}: container "${name}" is not running.`, {
    hint: `Start it first (berth up, or the runtime's start command).`,
    details: { runtime, name },
  });
}

export function unavailable(runtime: RuntimeKind, detail: string, hint: string, cause?: unknown): BerthError {
  return new BerthError('E_RUNTIME_UNAVAILABLE', `${runtime} is not available: ${detail}`, { hint, cause, details: { runtime } });
}

export function unsupported(runtime: RuntimeKind, operation: string, why: string): BerthError {
  return new BerthError('E_UNSUPPORTED', `${runtime} cannot ${operation}: ${why}`, {
    hint: 'Check Runtime.capabilities before calling, or choose a container runtime with --runtime.',
    details: { runtime, operation },
  });
}

export function badOutput(command: readonly string[], field: string, problem: string, cause?: unknown): BerthError {
  return new BerthError(
    'E_RUNTIME_OUTPUT',
    `Could not read the output of \`${formatCommand(command)}\`: ${field === '' ? problem : `field ${field}: ${problem}`}`,
    {
      hint: 'The runtime may be a version Berth does not know yet; run `berth doctor` and report the version.',
      cause,
      details: { command, field },
    },
  );
}

export function invalidSpec(message: string, hint: string): BerthError {
  return new BerthError('E_INVALID_INPUT', message, { hint });
}
