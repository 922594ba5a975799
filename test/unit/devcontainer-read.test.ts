import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { BerthError } from '../../src/errors.js';
import { readDevcontainer, readDevcontainerText } from '../../src/devcontainer/read.js';
import { locateDevcontainer } from '../../src/devcontainer/locate.js';
import { parseRunArgs } from '../../src/devcontainer/run-args.js';
import { parseMountString } from '../../src/devcontainer/mount-string.js';
import { devcontainerId } from '../../src/devcontainer/substitute.js';

const CORPUS = join(import.meta.dirname, '../fixtures/devcontainer-corpus');
interface Source { name: string; repo: string; path: string; commit: string; license: string; file: string }
const sources = JSON.parse(readFileSync(join(CORPUS, 'sources.json'), 'utf8')) as Source[];
const ENV = { HOME: '/home/dev', USER: 'dev' };

/** What each real file must give: read (and its source kind), or refused with the reason at a place. */
const EXPECTED: Record<string, { reads: 'image' | 'build' | 'compose' } | { refused: RegExp }> = {
  // The stored copies begin with a stray fragment before the object: a syntax error, located.
  'microsoft-vscode': { refused: /devcontainer\.json:1:65: JSON syntax: text after the closing "}"/ },
  'cli-cli': { refused: /devcontainer\.json:1:1: JSON syntax/ },
  // No image, no build, no compose: Codespaces' default image is implied, Berth will not guess one.
  'codespaces-flask': { refused: /devcontainer\.json:1:1: the configuration has none of "image"/ },
  // `-v` in runArgs is a mount Berth would not make: refused, not dropped.
  'vdc-docker-in-docker': { refused: /devcontainer\.json:8:3: runArgs\[0\]: .*"-v"/ },
  'vdc-kubernetes-helm': { refused: /devcontainer\.json:10:9: runArgs\[2\]: .*"-v"/ },
};

describe('devcontainer.json corpus (real files from public repositories, see the README beside them)', () => {
  it('holds at least 25 files covering image, Dockerfile, compose, features, hooks, comments and trailing commas', () => {
    expect(sources.length).toBeGreaterThanOrEqual(25);
    const texts = sources.map((s) => readFileSync(join(CORPUS, s.file), 'utf8'));
    expect(texts.filter((t) => /^\s*\/\/|\/\*/m.test(t)).length).toBeGreaterThanOrEqual(15);
    expect(texts.filter((t) => /,\s*[}\]]/.test(t)).length).toBeGreaterThanOrEqual(3);
    expect(texts.filter((t) => t.includes('"features"')).length).toBeGreaterThanOrEqual(5);
    expect(texts.filter((t) => t.includes('dockerComposeFile')).length).toBeGreaterThanOrEqual(4);
  });

  for (const source of sources) {
    it(`${source.repo}:${source.path} reads or is refused with a located reason`, () => {
      const expected = EXPECTED[source.name] ?? null;
      let outcome: { kind: string; errors: string[] } | { refused: string };
      try {
        const read = readDevcontainer({ workspaceFolder: join(CORPUS, source.name), env: ENV });
        outcome = read.errors.length > 0 ? { refused: read.errors.map((e) => `devcontainer.json:${String(e.line)}:${String(e.column)}: ${e.path}: ${e.message}`).join('\n') } : { kind: read.config.source.kind, errors: [] };
        for (const problem of [...read.warnings, ...read.errors]) {
          expect(problem.line).toBeGreaterThanOrEqual(1);
          expect(problem.column).toBeGreaterThanOrEqual(1);
        }
      } catch (error) {
        // Never a crash: every refusal is a BerthError that says where.
        expect(error).toBeInstanceOf(BerthError);
        expect((error as BerthError).code).toBe('E_INVALID_INPUT');
        expect((error as BerthError).message).toMatch(/devcontainer\.json:\d+:\d+: /);
        outcome = { refused: (error as BerthError).message };
      }
      if (expected !== null && 'refused' in expected) {
        expect('refused' in outcome ? outcome.refused : 'read').toMatch(expected.refused);
      } else {
        expect(outcome).not.toHaveProperty('refused');
      }
    });
  }
});

describe('devcontainer.json: what is read from real files', () => {
  const read = (name: string) => readDevcontainer({ workspaceFolder: join(CORPUS, name), env: ENV });

  it('hooks in all three forms (python/cpython): array = argv, object = named commands in parallel', () => {
    const { config } = read('python-cpython');
    expect(config.source).toEqual({ kind: 'image', image: 'ghcr.io/python/devcontainer:2024.09.25.11038928730' });
    expect(config.hooks.onCreateCommand).toEqual({ parallel: false, commands: [{ name: null, command: { argv: ['dnf', 'install', '-y', 'which', 'zsh', 'fish', '/usr/bin/setfacl'] } }] });
    expect(config.hooks.updateContentCommand?.parallel).toBe(true);
    expect(config.hooks.updateContentCommand?.commands).toEqual([
      { name: 'python', command: { shell: './configure --config-cache --with-pydebug && make -s -j `nproc`' } },
      { name: 'docs', command: { argv: ['make', '--directory', 'Doc', 'venv', 'html'] } },
    ]);
    // VS Code's own ${workspaceFolder} inside customizations is left alone, and not warned about.
    expect(JSON.stringify(config.customizations)).toContain('${workspaceFolder}/Include/**');
  });

  it('legacy dockerFile/context and top-level extensions/settings (home-assistant/core), runArgs -e', () => {
    const r = read('home-assistant-core');
    expect(r.config.source).toEqual({ kind: 'build', dockerfile: join(CORPUS, 'home-assistant-core/Dockerfile.dev'), context: join(CORPUS, 'home-assistant-core'), args: {}, target: null });
    expect(r.config.run.env).toEqual({ GIT_EDITOR: 'code --wait' });
    expect(r.config.ports).toEqual([{ port: 8123, service: null, label: null, protocol: null, onAutoForward: null, from: 'appPort' }]);
    const vscode = r.config.customizations['vscode'] as { extensions: string[]; settings: Record<string, unknown> };
    expect(vscode.extensions).toContain('ms-python.python');
    expect(vscode.settings['editor.formatOnSave']).toBe(true);
    expect(r.config.workspaceFolder).toBe('/workspaces/home-assistant-core');
    expect(r.config.workspaceMount).toEqual({ type: 'bind', source: join(CORPUS, 'home-assistant-core'), target: '/workspaces/home-assistant-core', readOnly: false });
  });

  it('${containerWorkspaceFolder} is substituted, ${containerEnv:PATH} kept for after start (dotnet/runtime)', () => {
    const { config } = read('dotnet-runtime');
    expect(config.source).toMatchObject({ kind: 'build', args: { VARIANT: '5.0' } });
    expect(config.hooks.onCreateCommand?.commands[0]?.command).toEqual({ shell: '/workspaces/dotnet-runtime/.devcontainer/scripts/onCreateCommand.sh' });
    expect(config.remoteEnv).toEqual({ PATH: '/workspaces/dotnet-runtime/.dotnet:${containerEnv:PATH}', DOTNET_MULTILEVEL_LOOKUP: '0' });
    expect(config.remoteUser).toBe('vscode');
  });

  it('compose: files beside the config, the service, workspaceFolder substituted (rails/rails, templates)', () => {
    const rails = read('rails-rails').config;
    expect(rails.source).toEqual({ kind: 'compose', files: [join(CORPUS, 'rails-rails/.devcontainer/docker-compose.yml')], service: 'rails', runServices: null, shutdownAction: 'stopCompose' });
    expect(rails.workspaceFolder).toBe('/workspaces/rails-rails');
    expect(rails.workspaceMount).toBeNull();
    expect(rails.overrideCommand).toBe(false);
    expect(rails.features).toEqual({ 'ghcr.io/devcontainers/features/github-cli:1': { version: 'latest' } });
    const multi = read('templates-docker-existing-docker-compose').config;
    expect(multi.source).toMatchObject({ files: [join(CORPUS, 'templates-docker-existing-docker-compose/docker-compose.yml'), join(CORPUS, 'templates-docker-existing-docker-compose/.devcontainer/docker-compose.yml')] });
  });

  it('workspaceMount, runArgs spec subset, overrideCommand (vscode-dev-containers codespaces-linux)', () => {
    const { config } = read('vdc-codespaces-linux');
    expect(config.workspaceMount).toEqual({ type: 'bind', source: join(CORPUS, 'vdc-codespaces-linux'), target: '/home/codespace/workspace', readOnly: false });
    expect(config.workspaceFolder).toBe('/home/codespace/workspace');
    expect(config.run).toMatchObject({ capAdd: ['SYS_PTRACE'], securityOpt: ['seccomp=unconfined'], privileged: true, init: true });
    expect(config.overrideCommand).toBe(false);
  });

  it('ports with their labels, hostRequirements, postAttach (github/codespaces-react, github/docs)', () => {
    const react = read('codespaces-react').config;
    expect(react.ports).toEqual([{ port: 3000, service: null, label: 'Application', protocol: null, onAutoForward: 'openPreview', from: 'forwardPorts' }]);
    expect(react.hostRequirements.cpus).toBe(4);
    expect(react.hooks.postAttachCommand).toEqual({ parallel: true, commands: [{ name: 'server', command: { shell: 'npm start' } }] });
    expect(read('github-docs').config.hostRequirements.memoryBytes).toBe(8 * 2 ** 30);
  });

  it('warnings say where: mastodon waitFor/otherPortsAttributes, the home-assistant/frontend appPort host side', () => {
    const mastodon = read('mastodon-mastodon');
    expect(mastodon.warnings.map((w) => [w.path, w.line, w.column])).toEqual([
      ['otherPortsAttributes', 26, 3],
      ['waitFor', 32, 3],
    ]);
    const frontend = read('home-assistant-frontend');
    expect(frontend.config.ports[0]).toMatchObject({ port: 8123, from: 'appPort' });
    expect(frontend.warnings.map((w) => w.path)).toEqual(['appPort', 'context']);
    expect(read('templates-ubuntu').warnings[0]?.message).toContain('${templateOption:imageVariant} is not a variable Berth resolves');
  });
});

describe('devcontainer.json: locating, variables, errors', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  const folder = (files: Record<string, string>): string => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-dc-'));
    dirs.push(dir);
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(join(dir, path, '..'), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    return dir;
  };

  it('finds .devcontainer/devcontainer.json first, then .devcontainer.json, then the one named folder', () => {
    const both = folder({ '.devcontainer/devcontainer.json': '{}', '.devcontainer.json': '{}' });
    expect(locateDevcontainer(both)).toBe(join(both, '.devcontainer/devcontainer.json'));
    const top = folder({ '.devcontainer.json': '{}' });
    expect(locateDevcontainer(top)).toBe(join(top, '.devcontainer.json'));
    const named = folder({ '.devcontainer/python/devcontainer.json': '{}' });
    expect(locateDevcontainer(named)).toBe(join(named, '.devcontainer/python/devcontainer.json'));
    const two = folder({ '.devcontainer/a/devcontainer.json': '{}', '.devcontainer/b/devcontainer.json': '{}' });
    expect(() => locateDevcontainer(two)).toThrow(/2 devcontainer configs: .devcontainer\/a\/devcontainer.json, .devcontainer\/b\/devcontainer.json/);
    expect(locateDevcontainer(two, '.devcontainer/b/devcontainer.json')).toBe(join(two, '.devcontainer/b/devcontainer.json'));
    const none = folder({ 'README.md': '' });
    expect(() => locateDevcontainer(none)).toThrow(expect.objectContaining({ code: 'E_NOT_FOUND' }) as Error);
  });

  it('substitutes localEnv with defaults, the folders and devcontainerId, never keys', () => {
    const dir = folder({
      '.devcontainer/devcontainer.json': `{
        "image": "img",
        "containerEnv": { "A": "\${localEnv:HOME}", "B": "\${localEnv:MISSING:fallback}", "C": "\${localEnv:MISSING}", "D": "\${env:USER}",
                          "E": "\${localWorkspaceFolderBasename}", "F": "\${containerWorkspaceFolderBasename}", "\${localEnv:HOME}": "k" },
        "workspaceFolder": "/src/\${localWorkspaceFolderBasename}",
        "mounts": ["source=cache-\${devcontainerId},target=/cache,type=volume"]
      }`,
    });
    const read = readDevcontainer({ workspaceFolder: dir, env: ENV });
    const base = dir.split('/').pop() ?? '';
    expect(read.config.containerEnv).toEqual({ A: '/home/dev', B: 'fallback', C: '', D: 'dev', E: base, F: base, '${localEnv:HOME}': 'k' });
    expect(read.config.workspaceFolder).toBe(`/src/${base}`);
    expect(read.devcontainerId).toMatch(/^[0-9a-v]{52}$/);
    expect(read.devcontainerId).toBe(devcontainerId(dir, join(dir, '.devcontainer/devcontainer.json')));
    expect(read.config.mounts).toEqual([{ type: 'volume', source: `cache-${read.devcontainerId}`, target: '/cache', readOnly: false }]);
  });

  it('malformed files: file:line:column like berth.yaml, never a crash', () => {
    const cases: [string, RegExp][] = [
      ['{\n  "image": "x"\n  "name": "y"\n}', /devcontainer\.json:3:3: JSON syntax: a "," was expected/],
      ['{\n  "image": "x",\n', /devcontainer\.json:3:1: JSON syntax: a "}" was expected/],
      ['[1, 2]', /devcontainer\.json:1:1: a devcontainer.json is one JSON object, this is an array/],
      ['', /the file is empty/],
      ['{ /* open', /comment is not closed/],
      ['{"image": 5}', /devcontainer\.json:1:2: image: must be a string, got a number \(5\)/],
      ['{"build": {"context": ".."}}', /build: build has no "dockerfile"/],
      ['{"image": "x", "mounts": ["target=/a,type=bind"]}', /mounts\[0\]: a bind mount needs a source/],
      ['{"image": "x", "postStartCommand": 7}', /postStartCommand: a hook is a string/],
      ['{"image": "x", "containerEnv": {"A": {"b": 1}}}', /containerEnv.A: must be a string/],
      ['{"image": "x", "forwardPorts": [70000]}', /forwardPorts\[0\]: must be a port number/],
      ['{"image": "x", "hostRequirements": {"memory": "lots"}}', /hostRequirements.memory: must be a size/],
      ['['.repeat(20000), /nested too deeply|JSON syntax/],
    ];
    for (const [text, message] of cases) {
      let thrown: unknown = null;
      let errors = '';
      try {
        const read = readDevcontainerText(text, '/w/.devcontainer/devcontainer.json', '/w', ENV);
        errors = read.errors.map((e) => `devcontainer.json:${String(e.line)}:${String(e.column)}: ${e.path}: ${e.message}`).join('\n');
      } catch (error) {
        thrown = error;
      }
      if (thrown !== null) {
        expect(thrown).toBeInstanceOf(BerthError);
        expect((thrown as BerthError).message).toMatch(message);
      } else expect(errors).toMatch(message);
    }
  });

  it('runArgs: the spec subset is kept, any other flag refused by index', () => {
    expect(parseRunArgs(['--cap-add', 'NET_ADMIN', '--security-opt=seccomp=unconfined', '--init', '--privileged', '-e', 'A=1', '--env=B=2', '--add-host', 'h:127.0.0.1', '--device=/dev/fuse'])).toEqual({
      options: { capAdd: ['NET_ADMIN'], securityOpt: ['seccomp=unconfined'], privileged: true, init: true, env: { A: '1', B: '2' }, addHost: ['h:127.0.0.1'], devices: ['/dev/fuse'] },
    });
    expect(parseRunArgs(['--init', '--network=host'])).toMatchObject({ index: 1, error: expect.stringContaining('"--network"') as string });
    expect(parseRunArgs(['-e', 'TOKEN'])).toMatchObject({ index: 1, error: expect.stringContaining('NAME=value') as string });
    expect(parseRunArgs(['--cap-add'])).toMatchObject({ index: 0, error: '--cap-add needs a value' });
  });

  it('mount strings: docker --mount syntax, defaults to a volume, quoted fields, read-only forms', () => {
    expect(parseMountString('source=/a,target=/b,type=bind,readonly')).toEqual({ mount: { type: 'bind', source: '/a', target: '/b', readOnly: true }, ignored: [] });
    expect(parseMountString('src=v,dst=/d')).toEqual({ mount: { type: 'volume', source: 'v', target: '/d', readOnly: false }, ignored: [] });
    expect(parseMountString('type=bind,"source=/a,b",target=/c,ro=true')).toEqual({ mount: { type: 'bind', source: '/a,b', target: '/c', readOnly: true }, ignored: [] });
    expect(parseMountString('type=tmpfs,target=/t,tmpfs-size=64m')).toEqual({ mount: { type: 'tmpfs', source: null, target: '/t', readOnly: false }, ignored: ['tmpfs-size'] });
    expect(parseMountString('type=npipe,target=/t')).toEqual({ error: 'mount type "npipe" is not bind, volume or tmpfs' });
    expect(parseMountString('source=/a,target=relative,type=bind')).toEqual({ error: 'the mount target "relative" is not an absolute path' });
  });

  it('fuzzed text and mutated real files: a read or a BerthError, nothing else (fast-check)', () => {
    const texts = sources.map((s) => readFileSync(join(CORPUS, s.file), 'utf8'));
    const mutated = fc.tuple(fc.constantFrom(...texts), fc.nat(), fc.nat(), fc.string({ maxLength: 8 })).map(([text, a, b, insert]) => {
      const start = a % (text.length + 1);
      const end = Math.min(text.length, start + (b % 16));
      return text.slice(0, start) + insert + text.slice(end);
    });
    const jsonish = fc.json({ depthSize: 'medium' }).map((j) => `{"image":"x",${j.startsWith('{') ? j.slice(1) : `"k":${j}}`}`);
    const keyed = fc
      .dictionary(fc.constantFrom('image', 'build', 'mounts', 'runArgs', 'forwardPorts', 'appPort', 'portsAttributes', 'containerEnv', 'remoteEnv', 'postCreateCommand', 'onCreateCommand', 'hostRequirements', 'workspaceMount', 'workspaceFolder', 'dockerComposeFile', 'features', 'customizations', 'extensions', 'settings', '__proto__', 'constructor'), fc.jsonValue())
      .map((d) => JSON.stringify(d));
    fc.assert(
      fc.property(fc.oneof(mutated, jsonish, keyed, fc.string()), (text) => {
        try {
          const read = readDevcontainerText(text, '/w/.devcontainer/devcontainer.json', '/w', ENV);
          JSON.stringify(read);
        } catch (error) {
          if (!(error instanceof BerthError)) throw error;
        }
      }),
      { numRuns: 1500 },
    );
  });
});
