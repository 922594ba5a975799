import { describe, expect, it } from 'vitest';
import { readDevcontainerText } from '../../src/devcontainer/read.js';
import { mergeContributions } from '../../src/devcontainer/features/contributions.js';
import { contribution, feature, resolution } from '../support/feature-fixtures.js';
import { readImageMetadata } from '../../src/devcontainer/image-metadata.js';
import { emptyRunOptions } from '../../src/devcontainer/run-args.js';
import { planDevcontainer, runHooks, type HookContext } from '../../src/workspace/devcontainer-up.js';

/* The base image's devcontainer.metadata label: read, merged under the features and the config (imageMetadata.ts@v0.88.0). */

const read = (text: string) => readDevcontainerText(text, '/w/.devcontainer/devcontainer.json', '/w', { HOME: '/home/dev', SECRET: 's3cret' });
const CONTEXT = { localWorkspaceFolder: '/w', containerWorkspaceFolder: '/workspaces/w', devcontainerId: 'abc' };
const label = (value: unknown) => readImageMetadata(JSON.stringify(value), 'base:1', CONTEXT);

describe('readImageMetadata: the label as the reference reads it', () => {
  it('an array of entries or one object; the id names an entry, else the image does', () => {
    const many = label([{ id: 'ghcr.io/devcontainers/features/common-utils:2', postCreateCommand: 'echo utils' }, { remoteUser: 'vscode', containerEnv: { A: '1' } }]);
    expect(many.notes).toEqual([]);
    expect(many.entries.map((e) => [e.origin, e.remoteUser])).toEqual([
      ['ghcr.io/devcontainers/features/common-utils:2', null],
      ['base:1', 'vscode'],
    ]);
    expect(many.entries[1]?.containerEnv).toEqual({ A: '1' });
    expect(label({ remoteUser: 'node' }).entries.map((e) => e.remoteUser)).toEqual(['node']);
    expect(readImageMetadata(undefined, 'base:1', CONTEXT)).toEqual({ entries: [], notes: [] });
  });

  it('a malformed label or entry is a warning and ignored, never a crash', () => {
    expect(readImageMetadata('[{"remoteUser":', 'base:1', CONTEXT)).toEqual({ entries: [], notes: [expect.stringMatching(/^warning: the image base:1's devcontainer.metadata label is not JSON .*; ignored$/) as string] });
    expect(readImageMetadata('"vscode"', 'base:1', CONTEXT).notes[0]).toMatch(/neither an array of entries nor an object/);
    const mixed = label([7, { remoteUser: 3 }, { capAdd: 'SYS_ADMIN' }, { containerEnv: { A: 1 } }, { remoteUser: 'ok' }]);
    expect(mixed.entries.map((e) => e.remoteUser)).toEqual(['ok']);
    expect(mixed.notes).toHaveLength(4);
    expect(mixed.notes.join('\n')).toMatch(/entry 0 is not an object[^]*remoteUser must be a string[^]*capAdd must be an array of strings[^]*containerEnv must be an object of strings/);
  });

  it('keys Berth does not apply are one note (customizations are editor settings: no note)', () => {
    const read = label([{ mounts: [{ source: 'v', target: '/v', type: 'volume' }], forwardPorts: [3000], customizations: { vscode: {} } }, { remoteUser: 'x', waitFor: 'postCreateCommand' }]);
    expect(read.entries).toHaveLength(2);
    expect(read.notes).toEqual(["the image base:1's devcontainer.metadata label sets forwardPorts, mounts, waitFor: Berth does not apply them from an image (set it in devcontainer.json where Berth supports it)"]);
  });

  it('variables are substituted, except this machine\'s environment (an image does not copy it into the container)', () => {
    const read = label({ containerEnv: { HERE: '${localWorkspaceFolder}', THERE: '${containerWorkspaceFolder}', LEAK: '${localEnv:SECRET}', DEF: '${localEnv:SECRET:none}' } });
    expect(read.entries[0]?.containerEnv).toEqual({ HERE: '/w', THERE: '/workspaces/w', LEAK: '', DEF: 'none' });
  });
});

describe('mergeContributions: image entries, then features, then the config', () => {
  it('hooks: the image\'s first, then the features\', then the config\'s; privileges the union; entrypoints image first', () => {
    const image = label([{ postCreateCommand: 'echo image', capAdd: ['NET_RAW'], entrypoint: '/image.sh', init: true }]).entries;
    const own = { commands: [{ name: null, command: { shell: 'echo config' } }], parallel: false };
    const merged = mergeContributions([{ userId: './f', contribution: contribution({ postCreateCommand: 'echo feature', capAdd: ['SYS_PTRACE'], entrypoint: '/f.sh' }) }], { run: emptyRunOptions(), hooks: { postCreateCommand: own } }, image);
    expect(merged.hooks.postCreateCommand?.map((h) => [h.origin, h.image ?? false])).toEqual([
      ['base:1', true],
      ['./f', false],
      [null, false],
    ]);
    expect(merged.run).toMatchObject({ capAdd: ['NET_RAW', 'SYS_PTRACE'], init: true });
    expect(merged.entrypoints).toEqual(['/image.sh', '/f.sh']);
  });

  it('users: the last entry that sets one (the config over the image, a later image entry over an earlier); env merged, later keys winning', () => {
    const image = label([{ remoteUser: 'first', containerUser: 'cu', containerEnv: { A: 'image', B: 'image' }, remoteEnv: { R: 'image', S: 'image' } }, { remoteUser: 'second' }]).entries;
    const none = mergeContributions([], { run: emptyRunOptions(), hooks: {} }, image);
    expect([none.remoteUser, none.containerUser]).toEqual(['second', 'cu']);
    const own = mergeContributions([], { run: emptyRunOptions(), hooks: {}, remoteUser: 'mine', containerUser: null, containerEnv: { B: 'config' }, remoteEnv: { S: null } }, image);
    expect([own.remoteUser, own.containerUser]).toEqual(['mine', 'cu']);
    expect(own.containerEnv).toEqual({ A: 'image', B: 'config' });
    expect(own.remoteEnv).toEqual({ R: 'image', S: null });
  });
});

describe('planDevcontainer with the base image\'s label', () => {
  const meta = label([{ remoteUser: 'someuser', containerEnv: { FROM_IMAGE: '1' }, remoteEnv: { R: 'image' }, postCreateCommand: 'echo image >> /tmp/hooks', postAttachCommand: 'echo attach-image' }]);

  it('the image\'s user, env and hooks apply when the config says nothing; the config wins where it does', () => {
    const plain = planDevcontainer(read('{"image":"base:1","postCreateCommand":"echo config >> /tmp/hooks","postAttachCommand":"echo attach-config"}'), { root: '/w', imageMetadata: meta });
    expect(plain.user).toBe('someuser');
    expect(plain.input.env).toMatchObject({ FROM_IMAGE: '1' });
    expect(plain.remoteEnv).toEqual({ R: 'image' });
    expect(plain.hooks.postCreateCommand?.map((h) => h.origin)).toEqual(['base:1', null]);
    expect(plain.input.devcontainer?.postAttach).toMatchObject({ user: 'someuser', remoteEnv: { R: 'image' }, before: [{ origin: 'base:1', image: true }] });
    const own = planDevcontainer(read('{"image":"base:1","remoteUser":"root","containerEnv":{"FROM_IMAGE":"config"}}'), { root: '/w', imageMetadata: meta });
    expect(own.user).toBe('root');
    expect(own.input.env).toMatchObject({ FROM_IMAGE: 'config' });
    // The label does not change what is hashed: the file (an image's change is drift through its id).
    expect(plain.input.devcontainer?.hash).toBe(planDevcontainer(read('{"image":"base:1","postCreateCommand":"echo config >> /tmp/hooks","postAttachCommand":"echo attach-config"}'), { root: '/w' }).input.devcontainer?.hash);
  });

  it('features sit between the image and the config', () => {
    const features = resolution(feature('./f', { postCreateCommand: 'echo feature' }));
    const plan = planDevcontainer(read('{"image":"base:1","features":{"./f":{}},"postCreateCommand":"echo config"}'), { root: '/w', features, imageMetadata: meta });
    expect(plan.hooks.postCreateCommand?.map((h) => h.origin)).toEqual(['base:1', './f', null]);
  });

  it('the image\'s privileges go through the same rules: elevated ones need the opt-in', () => {
    const privileged = label([{ privileged: true, capAdd: ['SYS_ADMIN'] }]);
    expect(() => planDevcontainer(read('{"image":"base:1"}'), { root: '/w', imageMetadata: privileged })).toThrow(expect.objectContaining({ code: 'E_UNSUPPORTED', message: expect.stringContaining('privileged') as string }) as Error);
    const granted = planDevcontainer(read('{"image":"base:1"}'), { root: '/w', imageMetadata: privileged, allowPrivileged: true });
    expect(granted.granted).toEqual(['privileged', '--cap-add SYS_ADMIN']);
    // Benign ones need nothing.
    expect(planDevcontainer(read('{"image":"base:1"}'), { root: '/w', imageMetadata: label([{ capAdd: ['NET_RAW'] }]) }).input.privileges).toMatchObject({ capAdd: ['NET_RAW'] });
  });

  it('the notes carry the label\'s warnings; an image hook that fails is named as the image\'s', async () => {
    const plan = planDevcontainer(read('{"image":"base:1"}'), { root: '/w', imageMetadata: readImageMetadata('{', 'base:1', CONTEXT) });
    expect(plan.notes.join('\n')).toMatch(/warning: the image base:1's devcontainer.metadata label is not JSON/);
    const failing = planDevcontainer(read('{"image":"base:1","postCreateCommand":"echo config"}'), { root: '/w', imageMetadata: label({ postCreateCommand: 'false' }) });
    const runs: { image?: string | undefined; feature?: string | undefined }[] = [];
    const context: HookContext = {
      workspace: 'w',
      containerId: 'c',
      action: 'created',
      exec: (argv) => Promise.resolve({ exitCode: argv.includes('false') ? 1 : 0, stdout: '', stderr: '' }) as ReturnType<HookContext['exec']>,
      markers: { hookFinished: () => false, markHookFinished: () => undefined },
      onHook: (run) => runs.push(run),
    };
    await expect(runHooks(failing, context)).rejects.toThrow(/postCreateCommand of the base image's devcontainer.metadata \(base:1\) failed/);
    expect(runs).toEqual([expect.objectContaining({ image: 'base:1' })]);
    expect(runs[0]?.feature).toBeUndefined();
  });
});
