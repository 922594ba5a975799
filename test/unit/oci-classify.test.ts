import { describe, expect, it } from 'vitest';
import { BerthError } from '../../src/errors.js';
import type { BerthErrorCode } from '../../src/errors.js';
import { ProcessError } from '../../src/process/index.js';
import { classifyEngineError, classifyExecFailure } from '../../src/runtime/oci/classify-error.js';
import type { Subject } from '../../src/runtime/command.js';

/*
 * Engine stderr recorded 2026-11-23 from podman 4.3 and docker 20.10 (docker 28 client), with the
 * exit code each engine used.
 */
const PODMAN = {
  inspectMissing: { rc: 125, stderr: 'Error: inspecting object: no such container nope\n' },
  containerMissing: { rc: 125, stderr: 'Error: no container with name or ID "nope" found: no such container\n' },
  rmMissing: { rc: 1, stderr: 'Error: no container with name or ID "nope" found: no such container\n' },
  cpMissing: { rc: 125, stderr: 'Error: container "nope" does not exist\n' },
  imageMissing: { rc: 125, stderr: 'Error: inspecting object: nope:latest: image not known\n' },
  networkMissing: { rc: 125, stderr: 'Error: inspecting object: network nope: unable to find network with name or ID nope: network not found\n' },
  createImageMissing: { rc: 125, stderr: 'Error: nope:latest: image not known\n' },
  nameInUse: {
    rc: 125,
    stderr:
      'Error: creating container storage: the container name "berth-probe" is already in use by 265b48c1. You have to remove that container to be able to reuse that name: that name is already in use\n',
  },
  execStopped: { rc: 255, stderr: 'Error: can only create exec sessions on running containers: container state improper\n' },
  rmRunning: {
    rc: 2,
    stderr:
      'Error: cannot remove container 265b48c1 as it is running - running or paused containers cannot be removed without force: container state improper\n',
  },
} as const;

const DOCKER = {
  inspectMissing: { rc: 1, stderr: 'Error response from daemon: No such container: nope\n' },
  startMissing: { rc: 1, stderr: 'Error response from daemon: No such container: nope\nError: failed to start containers: nope\n' },
  imageMissing: { rc: 1, stderr: 'Error response from daemon: no such image: nope:latest: No such image: nope:latest\n' },
  networkMissing: { rc: 1, stderr: 'Error response from daemon: network nope not found\n' },
  createImageMissing: { rc: 1, stderr: 'Error response from daemon: No such image: nope:latest\n' },
  nameInUse: {
    rc: 1,
    stderr:
      'Error response from daemon: Conflict. The container name "/berth-probe" is already in use by container "6bf68e70". You have to remove (or rename) that container to be able to reuse that name.\n',
  },
  execStopped: { rc: 1, stderr: 'Error response from daemon: Container 6bf68e70 is not running\n' },
  rmRunning: {
    rc: 1,
    stderr: 'Error response from daemon: You cannot remove a running container 6bf68e70. Stop the container before attempting removal or force remove\n',
  },
  daemonDown: { rc: 1, stderr: 'Cannot connect to the Docker daemon at unix:///nonexistent.sock. Is the docker daemon running?\n' },
} as const;

function failed(command: readonly string[], exitCode: number, stderr: string): ProcessError {
  return new ProcessError({ command, failure: 'exit', exitCode, signal: null, durationMs: 1, stdout: '', stderr });
}

function classify(kind: 'docker' | 'podman', args: readonly string[], recording: { rc: number; stderr: string }, subject: Subject): BerthError {
  const error = failed([kind, ...args], recording.rc, recording.stderr);
  const result = classifyEngineError(kind, error, subject);
  expect(result).toBeInstanceOf(BerthError);
  expect(result).not.toBeInstanceOf(ProcessError);
  return result as BerthError;
}

interface Case {
  label: string;
  args: string[];
  recording: { rc: number; stderr: string };
  subject: Subject;
  code: BerthErrorCode;
  message: string;
}

const podmanCases: Case[] = [
  { label: 'inspect, missing container', args: ['container', 'inspect', 'nope'], recording: PODMAN.inspectMissing, subject: { container: 'nope' }, code: 'E_NOT_FOUND', message: 'podman: no container named "nope".' },
  { label: 'start, missing container', args: ['start', 'nope'], recording: PODMAN.containerMissing, subject: { container: 'nope' }, code: 'E_NOT_FOUND', message: 'podman: no container named "nope".' },
  { label: 'stop, missing container', args: ['stop', '--time', '10', 'nope'], recording: PODMAN.containerMissing, subject: { container: 'nope' }, code: 'E_NOT_FOUND', message: 'podman: no container named "nope".' },
  { label: 'logs, missing container', args: ['logs', 'nope'], recording: PODMAN.containerMissing, subject: { container: 'nope' }, code: 'E_NOT_FOUND', message: 'podman: no container named "nope".' },
  { label: 'rm, missing container (exit 1)', args: ['rm', '--volumes', 'nope'], recording: PODMAN.rmMissing, subject: { container: 'nope' }, code: 'E_NOT_FOUND', message: 'podman: no container named "nope".' },
  { label: 'cp, missing container', args: ['cp', '/tmp/x', 'nope:/tmp/x'], recording: PODMAN.cpMissing, subject: { container: 'nope' }, code: 'E_NOT_FOUND', message: 'podman: no container named "nope".' },
  { label: 'image inspect, missing image', args: ['image', 'inspect', 'nope:latest'], recording: PODMAN.imageMissing, subject: { image: 'nope:latest' }, code: 'E_NOT_FOUND', message: 'podman: no image named "nope:latest".' },
  { label: 'network inspect, missing network', args: ['network', 'inspect', 'nope'], recording: PODMAN.networkMissing, subject: { network: 'nope' }, code: 'E_NOT_FOUND', message: 'podman: no network named "nope".' },
  { label: 'network rm, missing network', args: ['network', 'rm', 'nope'], recording: PODMAN.networkMissing, subject: { network: 'nope' }, code: 'E_NOT_FOUND', message: 'podman: no network named "nope".' },
  { label: 'create, missing image', args: ['create', '--pull', 'never', '--name', 'berth-probe', 'nope:latest'], recording: PODMAN.createImageMissing, subject: { container: 'berth-probe', image: 'nope:latest', network: undefined }, code: 'E_NOT_FOUND', message: 'podman: no image named "nope:latest".' },
  { label: 'create, name in use', args: ['create', '--pull', 'never', '--name', 'berth-probe', 'img'], recording: PODMAN.nameInUse, subject: { container: 'berth-probe', image: 'img', network: undefined }, code: 'E_CONFLICT', message: 'podman: the name "berth-probe" is already in use.' },
  { label: 'exec, stopped container', args: ['exec', 'berth-probe', 'true'], recording: PODMAN.execStopped, subject: { container: 'berth-probe' }, code: 'E_NOT_RUNNING', message: 'podman: container "berth-probe" is not running.' },
  { label: 'rm, running container', args: ['rm', '--volumes', 'berth-probe'], recording: PODMAN.rmRunning, subject: { container: 'berth-probe' }, code: 'E_CONFLICT', message: 'podman: container "berth-probe" is running.' },
];

const dockerCases: Case[] = [
  { label: 'inspect, missing container', args: ['container', 'inspect', 'nope'], recording: DOCKER.inspectMissing, subject: { container: 'nope' }, code: 'E_NOT_FOUND', message: 'docker: no container named "nope".' },
  { label: 'start, missing container', args: ['start', 'nope'], recording: DOCKER.startMissing, subject: { container: 'nope' }, code: 'E_NOT_FOUND', message: 'docker: no container named "nope".' },
  { label: 'image inspect, missing image', args: ['image', 'inspect', 'nope:latest'], recording: DOCKER.imageMissing, subject: { image: 'nope:latest' }, code: 'E_NOT_FOUND', message: 'docker: no image named "nope:latest".' },
  { label: 'network inspect, missing network', args: ['network', 'inspect', 'nope'], recording: DOCKER.networkMissing, subject: { network: 'nope' }, code: 'E_NOT_FOUND', message: 'docker: no network named "nope".' },
  { label: 'create, missing image', args: ['create', '--pull', 'never', '--name', 'berth-probe', 'nope:latest'], recording: DOCKER.createImageMissing, subject: { container: 'berth-probe', image: 'nope:latest', network: undefined }, code: 'E_NOT_FOUND', message: 'docker: no image named "nope:latest".' },
  { label: 'create, name in use', args: ['create', '--pull', 'never', '--name', 'berth-probe', 'img'], recording: DOCKER.nameInUse, subject: { container: 'berth-probe', image: 'img', network: undefined }, code: 'E_CONFLICT', message: 'docker: the name "berth-probe" is already in use.' },
  { label: 'exec, stopped container', args: ['exec', 'berth-probe', 'true'], recording: DOCKER.execStopped, subject: { container: 'berth-probe' }, code: 'E_NOT_RUNNING', message: 'docker: container "berth-probe" is not running.' },
  { label: 'rm, running container', args: ['rm', '--volumes', 'berth-probe'], recording: DOCKER.rmRunning, subject: { container: 'berth-probe' }, code: 'E_CONFLICT', message: 'docker: container "berth-probe" is running.' },
  {
    label: 'any command, daemon down',
    args: ['container', 'inspect', 'x'],
    recording: DOCKER.daemonDown,
    subject: { container: 'x' },
    code: 'E_RUNTIME_UNAVAILABLE',
    message: 'docker is not available: Cannot connect to the Docker daemon at unix:///nonexistent.sock. Is the docker daemon running?',
  },
];

describe('classifyEngineError on recorded podman 4.3 errors', () => {
  it.each(podmanCases)('$label → $code', ({ args, recording, subject, code, message }) => {
    const error = classify('podman', args, recording, subject);
    expect(error.code).toBe(code);
    expect(error.message).toBe(message);
  });
});

describe('classifyEngineError on recorded docker 20.10 errors', () => {
  it.each(dockerCases)('$label → $code', ({ args, recording, subject, code, message }) => {
    const error = classify('docker', args, recording, subject);
    expect(error.code).toBe(code);
    expect(error.message).toBe(message);
  });
});

describe('classifyEngineError details', () => {
  it('keeps the subject in details and hints at building a missing image', () => {
    const error = classify('docker', ['image', 'inspect', 'nope:latest'], DOCKER.imageMissing, { image: 'nope:latest' });
    expect(error.details).toEqual({ runtime: 'docker', what: 'image', name: 'nope:latest' });
    expect(error.hint).toBe('Build or pull "nope:latest" first (Berth never pulls implicitly).');
  });

  it('keeps the ProcessError as the cause of a daemon-down error', () => {
    const processError = failed(['docker', 'ps'], 1, DOCKER.daemonDown.stderr);
    const error = classifyEngineError('docker', processError, {}) as BerthError;
    expect(error.code).toBe('E_RUNTIME_UNAVAILABLE');
    expect(error.cause).toBe(processError);
    expect(error.hint).toContain('DOCKER_HOST');
  });

  it('names a network conflict after the network', () => {
    const inUse = classify('docker', ['network', 'create', 'berth-net'], { rc: 1, stderr: 'Error response from daemon: name is already in use\n' }, { network: 'berth-net' });
    expect(inUse).toMatchObject({ code: 'E_CONFLICT', message: 'docker: the name "berth-net" is already in use.', details: { runtime: 'docker', name: 'berth-net' } });
  });

  it('does not call a missing image "not found" when the command was not about an image', () => {
    // Without an image subject the text cannot say which thing is missing: a generic failure.
    const error = classify('podman', ['start', 'berth-probe'], PODMAN.createImageMissing, {});
    expect(error.code).toBe('E_RUNTIME_FAILED');
  });

  it('falls back to E_RUNTIME_FAILED with the first non-empty stderr line and the cause', () => {
    const processError = failed(['docker', 'build', '--tag', 't', '/ctx'], 1, '\n  \nERROR: failed to solve: process "/bin/sh -c false" did not complete\nmore\n');
    const error = classifyEngineError('docker', processError, {}) as BerthError;
    expect(error).toBeInstanceOf(BerthError);
    expect(error.code).toBe('E_RUNTIME_FAILED');
    expect(error.message).toBe('docker failed: ERROR: failed to solve: process "/bin/sh -c false" did not complete');
    expect(error.cause).toBe(processError);
  });

  it('uses the ProcessError message when stderr is empty', () => {
    const processError = failed(['podman', 'start', 'x'], 125, '');
    const error = classifyEngineError('podman', processError, { container: 'x' }) as BerthError;
    expect(error.code).toBe('E_RUNTIME_FAILED');
    expect(error.message).toBe('podman failed: Command failed with exit code 125: podman start x');
  });

  it('maps a missing binary to E_RUNTIME_UNAVAILABLE with a hint naming the override variable', () => {
    const missing = (command: string[]): ProcessError =>
      new ProcessError({ command, failure: 'not-found', exitCode: null, signal: null, durationMs: 1, stdout: '', stderr: '' });

    const docker = classifyEngineError('docker', missing(['/opt/bin/docker', 'ps']), {}) as BerthError;
    expect(docker).toBeInstanceOf(BerthError);
    expect(docker.code).toBe('E_RUNTIME_UNAVAILABLE');
    expect(docker.message).toBe('docker is not available: `/opt/bin/docker` is not installed or not on PATH.');
    expect(docker.hint).toBe('Install docker, or point BERTH_DOCKER_BIN at its binary.');

    const podman = classifyEngineError('podman', missing(['podman', 'ps']), {}) as BerthError;
    expect(podman.code).toBe('E_RUNTIME_UNAVAILABLE');
    expect(podman.message).toBe('podman is not available: `podman` is not installed or not on PATH.');
    expect(podman.hint).toBe('Install podman, or point BERTH_PODMAN_BIN at its binary.');
  });

  it('passes through what it cannot classify: non-ProcessErrors, timeouts, aborts', () => {
    const plain = new Error('boom');
    expect(classifyEngineError('docker', plain, {})).toBe(plain);
    const timeout = new ProcessError({ command: ['docker', 'ps'], failure: 'timeout', exitCode: null, signal: 'SIGKILL', durationMs: 1, stdout: '', stderr: DOCKER.daemonDown.stderr });
    expect(classifyEngineError('docker', timeout, {})).toBe(timeout);
    const aborted = new ProcessError({ command: ['docker', 'ps'], failure: 'aborted', exitCode: null, signal: null, durationMs: 1, stdout: '', stderr: '' });
    expect(classifyEngineError('docker', aborted, {})).toBe(aborted);
  });
});

describe('networks that already exist', () => {
  // Texts from the engines' sources (docker daemon, podman/netavark); seen when two callers race.
  it.each([
    ['docker', 'Error response from daemon: network with name berth-net already exists\n'],
    ['podman', 'Error: network name berth-net already used: network already exists\n'],
  ] as const)('%s: a create race is a conflict, so networkEnsure can adopt the winner', (kind, stderr) => {
    const error = new ProcessError({ command: [kind, 'network', 'create', 'berth-net'], failure: 'exit', exitCode: 1, signal: null, durationMs: 1, stdout: '', stderr });
    expect(classifyEngineError(kind, error, { network: 'berth-net' })).toMatchObject({ code: 'E_CONFLICT' });
  });
});

describe('classifyExecFailure', () => {
  it("does not mistake a command's own connection errors for the docker daemon being down", () => {
    expect(classifyExecFailure('docker', 'c', 1, 'psql: error during connect: connection refused\n')).toBeUndefined();
    expect(classifyExecFailure('docker', 'c', 1, 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n')).toMatchObject({
      code: 'E_RUNTIME_UNAVAILABLE',
    });
  });

  it('leaves ordinary command failures to the caller (undefined)', () => {
    // podman's engine codes are 125 and 255: exit 1 is the user's command, whatever it printed.
    expect(classifyExecFailure('podman', 'c', 1, 'Error: no container with name or ID "nope" found: no such container\n')).toBeUndefined();
    expect(classifyExecFailure('podman', 'c', 1, 'something went wrong\n')).toBeUndefined();
    expect(classifyExecFailure('podman', 'c', 2, PODMAN.rmRunning.stderr)).toBeUndefined();
    // docker's engine code is 1; any other code is the command's own.
    expect(classifyExecFailure('docker', 'c', 3, DOCKER.inspectMissing.stderr)).toBeUndefined();
    expect(classifyExecFailure('docker', 'c', 1, 'grep: pattern not found\n')).toBeUndefined();
    expect(classifyExecFailure('docker', 'c', 1, '')).toBeUndefined();
    expect(classifyExecFailure('podman', 'c', 125, '')).toBeUndefined();
    expect(classifyExecFailure('podman', 'c', 125, 'ls: cannot access x: No such file or directory\n')).toBeUndefined();
    // The user's own text mentioning the words, not on an engine "Error:" line.
    expect(classifyExecFailure('docker', 'c', 1, 'my tool says: No such container: nope\n')).toBeUndefined();
    expect(classifyExecFailure('podman', 'c', 125, 'log: Error: no container with name or ID x\n')).toBeUndefined();
  });

  it.each([126, 127])('leaves exit %i (command not executable / not found) to the caller', (code) => {
    expect(classifyExecFailure('docker', 'c', code, 'OCI runtime exec failed: exec failed: unable to start container process\n')).toBeUndefined();
    expect(classifyExecFailure('podman', 'c', code, 'Error: runc: exec failed: executable file not found in $PATH\n')).toBeUndefined();
  });

  it('recognises a missing container from the engine’s own line', () => {
    const podman = classifyExecFailure('podman', 'nope', PODMAN.containerMissing.rc, PODMAN.containerMissing.stderr);
    expect(podman).toBeInstanceOf(BerthError);
    expect(podman).toMatchObject({ code: 'E_NOT_FOUND', message: 'podman: no container named "nope".' });
    const docker = classifyExecFailure('docker', 'nope', DOCKER.inspectMissing.rc, DOCKER.inspectMissing.stderr);
    expect(docker).toMatchObject({ code: 'E_NOT_FOUND', message: 'docker: no container named "nope".' });
  });

  it('recognises a stopped container from the engine’s own line', () => {
    const podman = classifyExecFailure('podman', 'berth-probe', PODMAN.execStopped.rc, PODMAN.execStopped.stderr);
    expect(podman).toMatchObject({ code: 'E_NOT_RUNNING', message: 'podman: container "berth-probe" is not running.' });
    const podman125 = classifyExecFailure('podman', 'berth-probe', 125, PODMAN.execStopped.stderr);
    expect(podman125).toMatchObject({ code: 'E_NOT_RUNNING' });
    const docker = classifyExecFailure('docker', 'berth-probe', DOCKER.execStopped.rc, DOCKER.execStopped.stderr);
    expect(docker).toMatchObject({ code: 'E_NOT_RUNNING', message: 'docker: container "berth-probe" is not running.' });
  });

  it('finds the engine line after other output', () => {
    const stderr = `some earlier output\n${DOCKER.execStopped.stderr}`;
    expect(classifyExecFailure('docker', 'berth-probe', 1, stderr)).toMatchObject({ code: 'E_NOT_RUNNING' });
  });

  it('recognises docker’s daemon being down', () => {
    const error = classifyExecFailure('docker', 'c', 1, DOCKER.daemonDown.stderr);
    expect(error).toMatchObject({
      code: 'E_RUNTIME_UNAVAILABLE',
      message: 'docker is not available: Cannot connect to the Docker daemon at unix:///nonexistent.sock. Is the docker daemon running?',
    });
    // Not for podman, which has no daemon, nor for a code docker does not use for itself.
    expect(classifyExecFailure('podman', 'c', 125, DOCKER.daemonDown.stderr)).toBeUndefined();
    expect(classifyExecFailure('docker', 'c', 2, DOCKER.daemonDown.stderr)).toBeUndefined();
  });
});
