import { describe, expect, it } from 'vitest';
import { BerthError } from '../../src/errors.js';
import { ProcessError } from '../../src/process/index.js';
import * as apple from '../../src/runtime/apple/commands.js';
import { CliRunner, command, type CommandSpec, type Subject } from '../../src/runtime/command.js';
import * as oci from '../../src/runtime/oci/commands.js';
import { parseAppleVersion } from '../../src/runtime/apple/version.js';

/** A runner over this Node binary: each spec's args are `-e <script>`, a tiny real program. */
function nodeRunner(seen: { error: unknown; subject: Subject }[] = []): CliRunner {
  return new CliRunner({
    binary: process.execPath,
    env: { ...process.env, BASE: 'base' },
    timeoutMs: 10_000,
    classify: (error, subject) => {
      seen.push({ error, subject });
      return new BerthError('E_RUNTIME_FAILED', 'classified', { cause: error });
    },
  });
}

const result = (fields: Partial<{ exitCode: number; stdout: string; stderr: string }>) => ({ command: ['x'], exitCode: 0, stdout: '', stderr: '', durationMs: 1, ...fields });

describe('CliRunner: one runner for every CLI command spec', () => {
  it('runs the binary with the spec args, the CLI env plus the spec env, and hands the result to parse', async () => {
    const spec: CommandSpec<string> = {
      args: ['-e', 'process.stdout.write(process.env.BASE + "/" + process.env.TOKEN)'],
      env: { TOKEN: 'secret' },
      subject: {},
      parse: (r) => `${r.stdout}:${String(r.exitCode)}`,
    };
    expect(await nodeRunner().run(spec)).toBe('base/secret:0');
  });

  it('classifies a failed process with the spec subject, and never parses it', async () => {
    const seen: { error: unknown; subject: Subject }[] = [];
    let parsed = false;
    const spec: CommandSpec<void> = { args: ['-e', 'process.stderr.write("Error: nope"); process.exit(3)'], env: {}, subject: { container: 'c1' }, parse: () => void (parsed = true) };
    await expect(nodeRunner(seen).run(spec)).rejects.toMatchObject({ code: 'E_RUNTIME_FAILED' });
    expect(parsed).toBe(false);
    expect(seen).toHaveLength(1);
    expect(seen[0]?.subject).toEqual({ container: 'c1' });
    expect(seen[0]?.error).toBeInstanceOf(ProcessError);
    expect((seen[0]?.error as ProcessError).stderr).toContain('Error: nope');
  });

  it("uses the spec's timeout over the runner's, and the runner's when the spec sets none", async () => {
    const slow = ['-e', 'setTimeout(() => {}, 5000)'];
    const seen: { error: unknown; subject: Subject }[] = [];
    const started = Date.now();
    await expect(nodeRunner(seen).run(command(slow, {}, { timeoutMs: 200 }))).rejects.toThrow('classified');
    expect(Date.now() - started).toBeLessThan(4000);
    expect((seen[0]?.error as ProcessError).failure).toBe('timeout');
    const quick = new CliRunner({ binary: process.execPath, env: process.env, timeoutMs: 200, classify: (error) => error });
    await expect(quick.run(command(slow, {}, { timeoutMs: undefined }))).rejects.toMatchObject({ failure: 'timeout' });
  });

  it('lets parse answer any exit when the spec says so (exec)', async () => {
    const spec = oci.execCommand('docker', 'c', []);
    const run = { ...spec, args: ['-e', 'process.stdout.write("out"); process.exit(7)'] };
    expect(await nodeRunner().run(run)).toMatchObject({ exitCode: 7, stdout: 'out', stderr: '' });
  });
});

describe('command specs carry what the runner and the caller need, for both CLIs', () => {
  const v122 = parseAppleVersion('container CLI version 1.2.2');
  if (!v122) throw new Error('version');

  it('name the subject a failure is about', () => {
    const spec = { name: 'c', image: 'img', network: 'n' };
    expect(oci.createCommand(spec).subject).toEqual({ container: 'c', image: 'img', network: 'n' });
    expect(apple.createCommand(spec, v122).subject).toEqual({ container: 'c', image: 'img', network: 'n' });
    expect(oci.inspectCommand('docker', 'c').subject).toEqual({ container: 'c' });
    expect(apple.inspectCommand('c').subject).toEqual({ container: 'c' });
    expect(oci.imageInspectCommand('podman', 'img').subject).toEqual({ image: 'img' });
    expect(apple.imageInspectCommand('img').subject).toEqual({ image: 'img' });
    expect(oci.networkCreateCommand({ name: 'n' }).subject).toEqual({ network: 'n' });
    expect(apple.networkCreateCommand({ name: 'n' }, v122).subject).toEqual({ network: 'n' });
    expect(oci.stopCommand('c', 5, 60_000).subject).toEqual({ container: 'c' });
    expect(apple.deleteCommand('c', true).subject).toEqual({ container: 'c' });
    expect(apple.copyCommand(v122, '/a', 'c:/b', 'c').subject).toEqual({ container: 'c' });
  });

  it('give exec, logs and build the same process options on both CLIs', () => {
    const signal = new AbortController().signal;
    const onStdout = (): void => {};
    const exec = { input: 'x', signal, timeoutMs: 5 };
    // Output always streams through the exec's own collector (to the caller's callbacks, or kept for the result).
    const streams: Record<string, unknown> = { onStdout: expect.any(Function) as unknown, onStderr: expect.any(Function) as unknown };
    expect(oci.execCommand('docker', 'c', ['ls'], exec).io).toEqual({ ...apple.execCommand('c', ['ls'], exec).io, ...streams });
    expect(oci.execCommand('docker', 'c', ['ls']).io).toEqual({ input: undefined, signal: undefined, timeoutMs: Infinity, okExitCodes: 'any', ...streams });
    expect(oci.execCommand('docker', 'c', ['ls'], { stdin: 'y', input: 'x' }).io).toMatchObject({ input: 'y' });
    const logs = { follow: true, signal, onStdout };
    expect(oci.logsCommand('c', logs).io).toEqual(apple.logsCommand('c', logs).io);
    expect(oci.logsCommand('c', logs).io?.timeoutMs).toBe(Infinity);
    expect(oci.logsCommand('c', {}).io?.timeoutMs).toBeUndefined();
    const build = { contextDir: '/ctx', tag: 't', onOutput: onStdout };
    expect(oci.buildCommand(build).io).toEqual(apple.buildCommand(build).io);
    expect(oci.buildCommand(build).io).toMatchObject({ timeoutMs: 30 * 60_000, onStdout, onStderr: onStdout });
    expect(oci.stopCommand('c', 5, 60_000).io).toEqual(apple.stopCommand('c', 5, 60_000).io);
    expect(oci.stopCommand('c', 5, 60_000).io).toEqual({ timeoutMs: 65_000 });
  });

  it("exec's parse turns only the CLI's own failures into errors", async () => {
    expect(await oci.execCommand('docker', 'c', []).parse(result({ exitCode: 1, stderr: 'grep: nothing' }))).toMatchObject({ exitCode: 1 });
    expect(() => oci.execCommand('docker', 'c', []).parse(result({ exitCode: 1, stderr: 'Error response from daemon: No such container: c' }))).toThrow(/no container named "c"/);
    expect(() => apple.execCommand('c', []).parse(result({ exitCode: 1, stderr: 'Error: container c is not running' }))).toThrow(/not running/);
    expect(await apple.execCommand('c', []).parse(result({ exitCode: 1, stderr: 'ls: nothing' }))).toMatchObject({ exitCode: 1 });
  });

  it("logs' parse leaves stderr to the callback when one is given", async () => {
    expect(await oci.logsCommand('c', {}).parse(result({ stdout: 'o', stderr: 'e' }))).toEqual({ stdout: 'o', stderr: 'e' });
    expect(await apple.logsCommand('c', { onStderr: () => {} }).parse(result({ stdout: 'o', stderr: 'e' }))).toEqual({ stdout: 'o', stderr: '' });
  });

  it("observe's parse takes a missing half as an answer and any other error line as a failure", async () => {
    const spec = oci.observeCommand('podman', 'c', 'img');
    expect(await spec.parse(result({ exitCode: 125, stdout: '[]', stderr: 'Error: no such object: "c"\nError: no such object: "img"' }))).toEqual({ container: null, image: null });
    await expect(Promise.resolve().then(() => spec.parse(result({ exitCode: 125, stderr: 'Error: cannot connect to Podman' })))).rejects.toMatchObject({ code: 'E_RUNTIME_FAILED' });
  });

  it('read the version, or say the binary is not the CLI', async () => {
    expect((await apple.versionCommand('/bin/container').parse(result({ stdout: 'container CLI version 1.2.2 (build: release)' }))).text).toContain('1.2.2');
    expect(() => apple.versionCommand('/bin/container').parse(result({ stdout: 'hello' }))).toThrow(/Cannot read the version of \/bin\/container/);
    await expect(Promise.resolve().then(() => oci.versionCommand('docker', 'docker').parse(result({ exitCode: 1, stderr: 'boom' })))).rejects.toMatchObject({ code: 'E_RUNTIME_UNAVAILABLE' });
  });
});
