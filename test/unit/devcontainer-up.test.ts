import { mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readDevcontainer, readDevcontainerText } from '../../src/devcontainer/read.js';
import { mergeMounts, planDevcontainer, runAttachHook, runHooks, runInitializeCommand, type HookContext } from '../../src/workspace/devcontainer-up.js';
import type { ExecOptions } from '../../src/runtime/types.js';
import { findComposeTool } from '../../src/workspace/devcontainer-compose.js';

const CORPUS = join(import.meta.dirname, '../fixtures/devcontainer-corpus');
const ENV = { HOME: '/home/dev' };
const read = (text: string) => readDevcontainerText(text, '/w/.devcontainer/devcontainer.json', '/w', ENV);

describe('planDevcontainer: what up does with a devcontainer.json', () => {
  it('an image config becomes a spec: env, workspace folder, resources from hostRequirements, ports as preview ports', () => {
    const plan = planDevcontainer(read('{"image":"img:1","containerEnv":{"A":"1"},"runArgs":["-e","B=2"],"hostRequirements":{"cpus":2,"memory":"4gb"},"forwardPorts":[3000,8080],"remoteUser":"dev"}'), { root: '/w' });
    expect(plan.input).toMatchObject({ root: '/w', image: 'img:1', env: { A: '1', B: '2' }, cpus: 2, memory: 4 * 2 ** 30, previewPorts: 2, workspaceFolder: '/workspaces/w' });
    expect(plan.input.devcontainer?.file).toBe('/w/.devcontainer/devcontainer.json');
    expect(plan.user).toBe('dev');
    expect(plan.build).toBeNull();
    // Flags win over the file.
    expect(planDevcontainer(read('{"image":"i","hostRequirements":{"memory":"4gb"}}'), { root: '/w', base: { memory: '1g' } }).input.memory).toBe('1g');
  });

  it('the hash changes with the config, so an edit is drift', () => {
    const a = planDevcontainer(read('{"image":"i","containerEnv":{"A":"1"}}'), { root: '/w' }).input.devcontainer?.hash;
    const b = planDevcontainer(read('{"image":"i","containerEnv":{"A":"2"}}'), { root: '/w' }).input.devcontainer?.hash;
    expect(a).not.toBe(b);
  });

  it('a Dockerfile build is tagged by its content, args and context', () => {
    const home = readDevcontainer({ workspaceFolder: join(CORPUS, 'dotnet-runtime'), env: ENV });
    // dotnet/runtime's Dockerfile is not in the corpus: reading it is the error, with the path.
    expect(() => planDevcontainer(home, { root: home.localWorkspaceFolder })).toThrow(/Cannot read the Dockerfile .*dotnet-runtime\/.devcontainer\/Dockerfile/);
  });

  it('what this slice does not carry out is refused with what to do, never dropped', () => {
    const refusals: [string, RegExp][] = [
      ['{"dockerComposeFile":"c.yml","service":"app"}', /a compose configuration without workspaceFolder/],
      ['{"image":"i","features":{"ghcr.io/devcontainers/features/go:1":{}}}', /features \(ghcr.io\/devcontainers\/features\/go:1\)/],
      ['{"image":"i","workspaceMount":""}', /an empty workspaceMount/],
      ['{"image":"i","workspaceMount":"source=vol,target=/workspaces/w,type=volume"}', /a volume workspaceMount/],
      ['{"image":"i","workspaceMount":"source=/elsewhere,target=/workspaces/w,type=bind"}', /a workspaceMount from another folder/],
      ['{"image":"i","workspaceFolder":"/src","workspaceMount":"source=/w,target=/code,type=bind"}', /a workspaceMount at \/code while workspaceFolder is \/src/],
    ];
    for (const [text, message] of refusals) {
      expect(() => planDevcontainer(read(text), { root: '/w' })).toThrow(expect.objectContaining({ code: 'E_UNSUPPORTED', message: expect.stringMatching(message) as string }) as Error);
    }
  });
});

describe('planDevcontainer: mounts', () => {
  it('binds at another target, named and anonymous volumes and tmpfs become the spec\'s mounts; the last at a target wins', () => {
    const plan = planDevcontainer(
      read(`{"image":"i","mounts":[
        "source=/data,target=/mnt/data,type=bind,readonly",
        {"source":"cache-\${devcontainerId}","target":"/cache","type":"volume"},
        "target=/anon,type=volume",
        "type=tmpfs,target=/scratch",
        "source=/other,target=/mnt/data,type=bind"
      ]}`),
      { root: '/w' },
    );
    const id = read('{"image":"i"}').devcontainerId;
    expect(plan.input.mounts).toEqual([
      { type: 'volume', source: `cache-${id}`, target: '/cache', readOnly: false },
      { type: 'volume', source: '', target: '/anon', readOnly: false },
      { type: 'tmpfs', source: '', target: '/scratch' },
      { source: '/other', target: '/mnt/data', readOnly: false },
    ]);
  });

  it('a feature\'s mounts come first, the config\'s win at the same target (mergeMounts)', () => {
    expect(mergeMounts([
      { type: 'volume', source: 'dind', target: '/var/lib/docker', readOnly: false },
      { type: 'bind', source: '/a', target: '/a', readOnly: false },
      { type: 'volume', source: 'mine', target: '/var/lib/docker', readOnly: true },
    ])).toEqual([
      { type: 'bind', source: '/a', target: '/a', readOnly: false },
      { type: 'volume', source: 'mine', target: '/var/lib/docker', readOnly: true },
    ]);
  });

  it('a workspaceMount of a folder holding the workspace (the monorepo form) is mounted in its place; workspaceFolder must be the workspace in it', () => {
    const mono = (text: string) => readDevcontainerText(text, '/src/repo/.devcontainer/devcontainer.json', '/src/repo', ENV);
    const parent = '{"image":"i","workspaceMount":"source=${localWorkspaceFolder}/..,target=/workspaces,type=bind","workspaceFolder":"/workspaces/${localWorkspaceFolderBasename}"}';
    const plan = planDevcontainer(mono(parent), { root: '/src/repo' });
    expect(plan.input).toMatchObject({ root: '/src/repo', workspaceFolder: '/workspaces/repo', workspaceMount: { source: '/src', target: '/workspaces', readOnly: false } });
    expect(plan.workspaceFolder).toBe('/workspaces/repo');
    // Read-only is kept (and said), the folder itself too.
    const ro = planDevcontainer(mono('{"image":"i","workspaceMount":"source=${localWorkspaceFolder},target=/code,type=bind,readonly","workspaceFolder":"/code"}'), { root: '/src/repo' });
    expect(ro.input.workspaceMount).toEqual({ source: '/src/repo', target: '/code', readOnly: true });
    expect(ro.notes.join('\n')).toMatch(/read-only/);
    // Where the folder is not at workspaceFolder in the mount: refused, saying where it is.
    expect(() => planDevcontainer(mono('{"image":"i","workspaceMount":"source=${localWorkspaceFolder}/..,target=/workspaces,type=bind","workspaceFolder":"/workspaces"}'), { root: '/src/repo' })).toThrow(
      /a workspaceMount at \/workspaces while workspaceFolder is \/workspaces: \/src\/repo is at \/workspaces\/repo in it/,
    );
    // A volume or tmpfs would keep the files away from the folder: refused clearly.
    expect(() => planDevcontainer(mono('{"image":"i","workspaceMount":"source=code-vol,target=/workspaces/repo,type=volume"}'), { root: '/src/repo' })).toThrow(/a volume workspaceMount \(code-vol at \/workspaces\/repo\): the workspace's files would live in the engine's volume, not in \/src\/repo/);
    expect(() => planDevcontainer(mono('{"image":"i","workspaceMount":"type=tmpfs,target=/workspaces/repo"}'), { root: '/src/repo' })).toThrow(/a tmpfs workspaceMount/);
    // A sibling (it does not hold the workspace) is another folder.
    expect(() => planDevcontainer(mono('{"image":"i","workspaceMount":"source=/src/other,target=/workspaces/repo,type=bind"}'), { root: '/src/repo' })).toThrow(/a workspaceMount from another folder \(\/src\/other\)/);
    // The default form adds nothing to the spec (its hash stays as it was).
    expect(planDevcontainer(mono('{"image":"i","workspaceMount":"source=${localWorkspaceFolder},target=/workspaces/repo,type=bind"}'), { root: '/src/repo' }).input.workspaceMount).toBeUndefined();
  });

  it('a workspaceMount that says what Berth does is taken; a relative bind source is refused', () => {
    expect(planDevcontainer(read('{"image":"i","workspaceFolder":"/code","workspaceMount":"source=${localWorkspaceFolder},target=/code/,type=bind,consistency=cached"}'), { root: '/w' }).input.workspaceFolder).toBe('/code');
    expect(() => planDevcontainer(read('{"image":"i","mounts":["source=data,target=/data,type=bind"]}'), { root: '/w' })).toThrow(/bind mount source "data" \(at \/data\) is not an absolute path/);
  });
});

describe('compose: the workspace service read from the compose files', () => {
  it('image or build, environment, the other services; what is not applied is said', () => {
    const folder = mkdtempSync(join(tmpdir(), 'berth-compose-'));
    try {
      writeFileSync(join(folder, 'c.yml'), 'services:\n  app:\n    build: { context: ., args: [A=1] }\n    environment: [X=1, BARE]\n    volumes: [..:/w]\n  db:\n    image: postgres\n  cache:\n    image: redis\n');
      writeFileSync(join(folder, 'Dockerfile'), 'FROM scratch\n');
      const text = '{"dockerComposeFile":["c.yml"],"service":"app","runServices":["app","db"],"workspaceFolder":"/workspaces/w","shutdownAction":"none"}';
      const plan = planDevcontainer(readDevcontainerText(text, join(folder, 'devcontainer.json'), folder, ENV), { root: folder });
      expect(plan.compose).toEqual({ files: [join(folder, 'c.yml')], service: 'app', others: ['db'], stopWithWorkspace: false });
      expect(plan.build).toMatchObject({ dockerfile: join(folder, 'Dockerfile'), buildArgs: { A: '1' } });
      expect(plan.input.env).toEqual({ X: '1' });
      expect(plan.notes.join('\n')).toContain('volumes is not applied');
      // An edited compose file is drift.
      const before = plan.input.devcontainer?.hash;
      writeFileSync(join(folder, 'c.yml'), 'services:\n  app:\n    image: i\n  db:\n    image: postgres\n');
      expect(planDevcontainer(readDevcontainerText(text, join(folder, 'devcontainer.json'), folder, ENV), { root: folder }).input.devcontainer?.hash).not.toBe(before);
      const bad = '{"dockerComposeFile":"c.yml","service":"web","workspaceFolder":"/w"}';
      expect(() => planDevcontainer(readDevcontainerText(bad, join(folder, 'devcontainer.json'), folder, ENV), { root: folder })).toThrow(/no service "web".*|Set "service" to one of: app, db/);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  it('Apple container and host mode have no compose: refused with what to do', async () => {
    await expect(findComposeTool('apple', 'container', {})).rejects.toMatchObject({ code: 'E_UNSUPPORTED', message: expect.stringContaining('Compose is not available on Apple container') as string });
  });
});

describe('runHooks: order, forms, markers, failures', () => {
  const context = (action: HookContext['action'], done = new Set<string>(), exitCodes: Record<string, number> = {}) => {
    const calls: { argv: readonly string[]; options: ExecOptions }[] = [];
    const ctx: HookContext = {
      workspace: 'w',
      containerId: 'c1',
      action,
      exec: (argv, options) => {
        calls.push({ argv, options });
        const key = argv.join(' ');
        return Promise.resolve({ exitCode: exitCodes[key] ?? 0, stdout: argv[0] === 'env' ? 'PATH=/usr/bin\0HOME=/root\0' : '', stderr: '', durationMs: 1 });
      },
      markers: { hookFinished: (_w, _c, hook) => done.has(hook), markHookFinished: (_w, _c, hook) => void done.add(hook) },
      onHook: () => undefined,
    };
    return { ctx, calls, done };
  };
  const plan = planDevcontainer(
    read(`{"image":"i","remoteUser":"dev","remoteEnv":{"P":"\${containerEnv:PATH}:/x","GONE":null},
      "onCreateCommand":"echo a","updateContentCommand":["echo","b"],"postCreateCommand":{"one":"echo c","two":["echo","d"]},
      "postStartCommand":"echo e","postAttachCommand":"echo f","initializeCommand":"echo host"}`),
    { root: '/w', runInitializeCommand: true },
  );

  it('after a create: every container hook in the reference order, as the remote user, in the workspace folder', async () => {
    const { ctx, calls, done } = context('created');
    expect(await runHooks(plan, ctx)).toEqual(['onCreateCommand', 'updateContentCommand', 'postCreateCommand', 'postStartCommand']);
    expect(calls.map((c) => c.argv)).toEqual([['env', '-0'], ['/bin/sh', '-c', 'echo a'], ['echo', 'b'], ['/bin/sh', '-c', 'echo c'], ['echo', 'd'], ['/bin/sh', '-c', 'echo e']]);
    expect(calls[1]?.options).toMatchObject({ user: 'dev', workdir: '/workspaces/w', env: { P: '/usr/bin:/x', GONE: '' } });
    expect([...done]).toEqual(['onCreateCommand', 'updateContentCommand', 'postCreateCommand']);
    // postAttach is not run by up: it goes with the spec, for each attach.
    expect(plan.notes).toEqual(expect.arrayContaining([expect.stringContaining('postAttachCommand runs each time a shell attaches')]));
    expect(plan.input.devcontainer?.postAttach).toEqual({ commands: [{ name: null, argv: ['/bin/sh', '-c', 'echo f'] }], user: 'dev', workspaceFolder: '/workspaces/w', remoteEnv: { P: '${containerEnv:PATH}:/x', GONE: null } });
    expect(plan.initialize?.commands).toEqual([{ name: null, command: { shell: 'echo host' } }]);
  });

  it('initializeCommand is refused unless the user opts in: it runs on this machine', () => {
    expect(() => planDevcontainer(read('{"image":"i","initializeCommand":["./prepare.sh","--fast"]}'), { root: '/w' })).toThrow(
      expect.objectContaining({ code: 'E_UNSUPPORTED', message: expect.stringContaining('initializeCommand (./prepare.sh --fast) runs on this machine, outside any container') as string, hint: expect.stringContaining('--run-initialize-command') as string }) as Error,
    );
    expect(planDevcontainer(read('{"image":"i"}'), { root: '/w' }).initialize).toBeNull();
  });

  it('initializeCommand runs on this machine in the workspace folder; named commands at once; a failure names itself', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'berth-init-'));
    try {
      const hook = planDevcontainer(read('{"image":"i","initializeCommand":{"a":"pwd > a.txt","b":["sh","-c","echo $0 > b.txt","arg0"]}}'), { root: '/w', runInitializeCommand: true }).initialize;
      const runs: string[] = [];
      await runInitializeCommand(hook as NonNullable<typeof hook>, folder, (r) => runs.push(`${String(r.name)}:${String(r.exitCode)}`));
      expect(runs.sort()).toEqual(['a:0', 'b:0']);
      expect(readFileSync(join(folder, 'a.txt'), 'utf8').trim()).toBe(realpathSync(folder));
      expect(readFileSync(join(folder, 'b.txt'), 'utf8').trim()).toBe('arg0');
      const failing = planDevcontainer(read('{"image":"i","initializeCommand":"echo out; exit 7"}'), { root: '/w', runInitializeCommand: true }).initialize;
      await expect(runInitializeCommand(failing as NonNullable<typeof failing>, folder, () => undefined)).rejects.toMatchObject({ code: 'E_PROCESS', message: expect.stringContaining('initializeCommand failed on this machine (exit 7)') as string });
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  it('postAttach runs as the other hooks do, and its failure is reported, not thrown', async () => {
    const attach = plan.input.devcontainer?.postAttach;
    const { ctx, calls } = context('reused', new Set(), { '/bin/sh -c echo f': 2 });
    const runs = await runAttachHook(attach as NonNullable<typeof attach>, ctx.exec, () => undefined);
    expect(runs.map((r) => r.exitCode)).toEqual([2]);
    expect(calls[1]).toMatchObject({ argv: ['/bin/sh', '-c', 'echo f'], options: { user: 'dev', workdir: '/workspaces/w', env: { P: '/usr/bin:/x', GONE: '' } } });
  });

  it('after a start: postStart only; reused: nothing', async () => {
    const finished = new Set(['onCreateCommand', 'updateContentCommand', 'postCreateCommand']);
    expect(await runHooks(plan, context('started', new Set(finished)).ctx)).toEqual(['postStartCommand']);
    expect(await runHooks(plan, context('reused', new Set(finished)).ctx)).toEqual([]);
  });

  it('a failing command stops the later hooks and names itself', async () => {
    const { ctx, done } = context('created', new Set(), { 'echo d': 4 });
    await expect(runHooks(plan, ctx)).rejects.toMatchObject({ code: 'E_PROCESS', message: expect.stringContaining('postCreateCommand "two" failed (exit 4): echo d; not run: postStartCommand') as string });
    expect([...done]).toEqual(['onCreateCommand', 'updateContentCommand']);
  });
});
