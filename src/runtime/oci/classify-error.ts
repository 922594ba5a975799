import { BerthError } from '../../errors.js';
import { ProcessError } from '../../process/process-error.js';
import { conflict, notFound, notRunning, unavailable } from '../errors.js';
import type { Subject } from '../command.js';
import type { RuntimeKind } from '../types.js';

/*
 * Engine error texts, recorded from docker 20.10 and podman 4.3 (see test/unit/oci-classify.test.ts).
 * Matching is on the engine's own "Error…" lines, never on a user command's output.
 */
const CONTAINER_MISSING = /No such container|no container with name or ID|no such container|container "[^"]*" does not exist/;
const IMAGE_MISSING = /No such image|image not known/i;
const NETWORK_MISSING = /network \S+ not found|unable to find network|network not found/;
const NAME_IN_USE = /is already in use|network with name \S+ already exists|network name \S+ already used/;
const REMOVE_RUNNING = /cannot remove a running container|cannot remove container \S+ as it is running/i;
const NOT_RUNNING = /Container \S+ is not running|can only create exec sessions on running containers|container state improper/;
/** docker and podman alike (runc/crun's user lookup), for `--user` at create and at exec. */
const USER_MISSING = /unable to find (user|group) ([^:\s]+): no matching entries in (?:passwd|group) file/;
const DAEMON_DOWN = /Cannot connect to the Docker daemon|Is the docker daemon running|error during connect|permission denied while trying to connect/;

/** Turns a failed engine command into one of Berth's typed errors. */
export function classifyEngineError(kind: RuntimeKind, error: unknown, subject: Subject): unknown {
  if (!(error instanceof ProcessError)) return error;
  if (error.failure === 'not-found') {
    const envVar = kind === 'docker' ? 'BERTH_DOCKER_BIN' : 'BERTH_PODMAN_BIN';
    return unavailable(kind, `\`${error.command[0] ?? kind}\` is not installed or not on PATH.`, `Install ${kind}, or point ${envVar} at its binary.`, error);
  }
  if (error.failure !== 'exit') return error;
  return classifyEngineMessage(kind, error.stderr, subject, error);
}

/** The engine's own error text (from the CLI's stderr or its API's message) as a typed error. */
export function classifyEngineMessage(kind: RuntimeKind, text: string, subject: Subject, cause: Error): Error {
  if (DAEMON_DOWN.test(text)) {
    return unavailable(kind, firstLine(text), 'Start the docker daemon, or set DOCKER_HOST to a running one (`berth doctor` checks).', cause);
  }
  if (IMAGE_MISSING.test(text) && subject.image !== undefined) return notFound(kind, 'image', subject.image);
  if (NETWORK_MISSING.test(text) && subject.network !== undefined) return notFound(kind, 'network', subject.network);
  if (CONTAINER_MISSING.test(text) && subject.container !== undefined) return notFound(kind, 'container', subject.container);
  if (NAME_IN_USE.test(text)) {
    const name = subject.container ?? subject.network ?? '';
    return conflict(kind, name, `the name "${name}" is already in use.`, 'Choose another name, or remove the existing one if it is yours.');
  }
  if (REMOVE_RUNNING.test(text) && subject.container !== undefined) {
    return conflict(kind, subject.container, `container "${subject.container}" is running.`, 'Stop it first, or remove with force.');
  }
  if (NOT_RUNNING.test(text) && subject.container !== undefined) return notRunning(kind, subject.container);
  const missing = missingUser(kind, text, cause);
  if (missing) return missing;
  return new BerthError('E_RUNTIME_FAILED', `${kind} failed: ${firstLine(text) || cause.message}`, {
    cause,
    hint: 'See the runtime output above; `berth doctor` checks the engine.',
  });
}

/**
 * exec hands the command's own exit code back, so an engine failure must be told apart from a
 * command that failed: only the engine's own exit codes with the engine's own error line count.
 */
export function classifyExecFailure(kind: RuntimeKind, container: string, exitCode: number, stderr: string): Error | undefined {
  // The user lookup fails before the command exists: docker exits 126, podman 125 or 255.
  if ([125, 126, 255].includes(exitCode)) {
    const missing = missingUser(kind, stderr.split('\n').slice(0, 3).join('\n'));
    if (missing) return missing;
  }
  const engineCodes = kind === 'docker' ? [1] : [125, 255];
  if (!engineCodes.includes(exitCode)) return undefined;
  if (/^Error(?: response from daemon)?: (?:No such container|no container with name or ID)/m.test(stderr)) {
    return notFound(kind, 'container', container);
  }
  if (/^Error(?: response from daemon)?: (?:Container \S+ is not running|can only create exec sessions on running containers)/m.test(stderr)) {
    return notRunning(kind, container);
  }
  if (kind === 'docker' && /^(?:Cannot connect to the Docker daemon|error during connect)/m.test(stderr)) {
    return unavailable(kind, firstLine(stderr), 'Start the docker daemon, or set DOCKER_HOST to a running one.');
  }
  return undefined;
}

/**
 * A `--user` the image has no entry for, as an error that names it; undefined for any other text.
 * (A numeric uid needs no entry: only names are looked up.)
 */
export function missingUser(kind: RuntimeKind, text: string, cause?: Error): BerthError | undefined {
  const match = USER_MISSING.exec(text);
  if (!match) return undefined;
  const [, what = 'user', name = ''] = match;
  return new BerthError('E_INVALID_INPUT', `${kind}: the workspace's image has no ${what} ${JSON.stringify(name)} (no entry in its /etc/${what === 'user' ? 'passwd' : 'group'}).`, {
    cause,
    hint: 'Give the user as a number (uid[:gid] needs no entry), use user: host, or name a user the image has.',
  });
}

function firstLine(text: string): string {
  return text.split('\n').find((line) => line.trim() !== '')?.trim() ?? '';
}
