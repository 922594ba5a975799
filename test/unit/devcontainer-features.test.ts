import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readDevcontainer } from '../../src/devcontainer/read.js';
import { envFileText, resolveOptions } from '../../src/devcontainer/features/options.js';
import { installOrder, type OrderNode } from '../../src/devcontainer/features/order.js';
import { mapLegacyFeatures, parseFeatureRef } from '../../src/devcontainer/features/reference.js';
import { extractTar } from '../../src/devcontainer/features/tar.js';
import { resolveFeatures } from '../../src/devcontainer/features/resolve.js';
import { pullOciFeature, isLoopback } from '../../src/devcontainer/features/oci.js';
import { featuresDockerfile } from '../../src/devcontainer/features/build.js';
import { planDevcontainer } from '../../src/workspace/devcontainer-up.js';
import { run } from '../../src/process/run.js';
import { startTestRegistry } from '../support/oci-registry.js';

const scratch = mkdtempSync(join(tmpdir(), 'berth-features-unit-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A workspace with a devcontainer.json and local features (folder name -> devcontainer-feature.json). */
function workspace(config: string, features: Record<string, object> = {}): string {
  const root = mkdtempSync(join(scratch, 'ws-'));
  mkdirSync(join(root, '.devcontainer'));
  writeFileSync(join(root, '.devcontainer/devcontainer.json'), config);
  for (const [name, json] of Object.entries(features)) {
    mkdirSync(join(root, '.devcontainer', name));
    writeFileSync(join(root, '.devcontainer', name, 'devcontainer-feature.json'), JSON.stringify(json, null, 2));
    writeFileSync(join(root, '.devcontainer', name, 'install.sh'), '#!/bin/sh\necho hi\n');
  }
  return root;
}
const resolveIn = (root: string) => resolveFeatures(readDevcontainer({ workspaceFolder: root, env: {} }), { cacheDir: join(scratch, 'cache') });

describe('feature options', () => {
  const declared = {
    version: { type: 'string' as const, default: 'latest', enum: null, proposals: ['latest', '1'], description: null },
    flavour: { type: 'string' as const, default: 'plain', enum: ['plain', 'spicy'], proposals: null, description: null },
    fast: { type: 'boolean' as const, default: false, description: null },
  };

  it('defaults, then the object given; a string is the version option; true takes the defaults', () => {
    expect(resolveOptions(declared, {}).values).toEqual({ version: 'latest', flavour: 'plain', fast: false });
    expect(resolveOptions(declared, { flavour: 'spicy', fast: true }).values).toEqual({ version: 'latest', flavour: 'spicy', fast: true });
    expect(resolveOptions(declared, '18').values).toEqual({ version: '18', flavour: 'plain', fast: false });
    expect(resolveOptions(declared, true).values).toEqual({ version: 'latest', flavour: 'plain', fast: false });
    // "true"/"false" written as strings for a boolean option, as real files do.
    expect(resolveOptions(declared, { fast: 'true' }).values['fast']).toBe(true);
  });

  it('a value the option cannot take is an error naming what it can take; an unknown option is a warning and passed on', () => {
    const bad = resolveOptions(declared, { flavour: 'sour', fast: 'yes', version: ['1'] });
    expect(bad.problems.filter((p) => p.severity === 'error').map((p) => [p.at, p.message])).toEqual([
      [['flavour'], '"flavour" is one of "plain", "spicy"; got "sour"'],
      [['fast'], '"fast" is a boolean option: true or false, got "yes"'],
      [['version'], "an option's value is a string or a boolean, got an array"],
    ]);
    const unknown = resolveOptions(declared, { colour: 'red' });
    expect(unknown.problems).toEqual([expect.objectContaining({ severity: 'warning', at: ['colour'] })]);
    expect(unknown.values['colour']).toBe('red');
  });

  it('options become upper-cased variables (getSafeId), single-quoted so no value runs in the build', () => {
    expect(envFileText({ version: '1', 'install-tools': true, '9lives': 'x' })).toBe("VERSION='1'\nINSTALL_TOOLS='true'\n_LIVES='x'");
    expect(envFileText({ greeting: `it's $(id) "x"` })).toBe(`GREETING='it'\\''s $(id) "x"'`);
  });
});

describe('feature ids', () => {
  const file = '/w/.devcontainer/devcontainer.json';
  it('local folders inside .devcontainer, OCI ids with tag or digest, as the reference parses them', () => {
    expect(parseFeatureRef('./hello', file, '/w')).toMatchObject({ kind: 'local', id: 'hello', path: '/w/.devcontainer/hello' });
    expect(parseFeatureRef('ghcr.io/devcontainers/features/node:1', file, '/w')).toMatchObject({ kind: 'oci', registry: 'ghcr.io', repository: 'devcontainers/features/node', resource: 'ghcr.io/devcontainers/features/node', reference: '1', id: 'node' });
    expect(parseFeatureRef('127.0.0.1:5000/team/features/x', file, '/w')).toMatchObject({ registry: '127.0.0.1:5000', reference: 'latest' });
    const digest = `sha256:${'a'.repeat(64)}`;
    expect(parseFeatureRef(`ghcr.io/o/f/x@${digest}`, file, '/w')).toMatchObject({ digest, reference: digest, tag: null });
  });

  it('what the reference refuses is refused, saying what to write instead', () => {
    expect(parseFeatureRef('node', file, '/w')).toMatchObject({ error: expect.stringMatching(/legacy short feature id.*ghcr.io\/devcontainers\/features\/node:1/) as string });
    expect(parseFeatureRef('../../etc', file, '/w')).toMatchObject({ error: expect.stringMatching(/inside \/w\/.devcontainer/) as string });
    expect(parseFeatureRef('/abs/feature', file, '/w')).toMatchObject({ error: expect.stringMatching(/relative to devcontainer.json/) as string });
    expect(parseFeatureRef('https://example.com/f.tgz', file, '/w')).toMatchObject({ error: expect.stringMatching(/tarball URL/) as string });
    expect(parseFeatureRef('myhost/features/x:1', file, '/w')).toMatchObject({ error: expect.stringMatching(/not a registry host/) as string });
  });

  it('legacy short ids map to their OCI ids as the reference maps them, each with a warning naming the new id', () => {
    const mapped = mapLegacyFeatures({ node: 'lts', 'docker-in-docker': {}, golang: '1.22', common: true, gradle: true, python: '3.12', './mine': {}, fish: {} });
    const byId = Object.fromEntries(mapped.map((f) => [f.userId, f]));
    expect(byId['ghcr.io/devcontainers/features/node:1']).toMatchObject({ value: 'lts', writtenAs: 'node', warnings: [{ at: 'node', message: expect.stringContaining('Berth installs ghcr.io/devcontainers/features/node:1') as string }] });
    expect(byId['ghcr.io/devcontainers/features/docker-in-docker:1']).toMatchObject({ writtenAs: 'docker-in-docker' });
    // Renamed ones take their new name.
    expect(byId['ghcr.io/devcontainers/features/go:1']).toMatchObject({ value: '1.22', writtenAs: 'golang' });
    expect(byId['ghcr.io/devcontainers/features/common-utils:1']).toMatchObject({ value: true, writtenAs: 'common' });
    // gradle became an option of java, which is not listed: java:1 is added with it.
    expect(byId['ghcr.io/devcontainers/features/java:1']).toMatchObject({ value: { installGradle: true }, writtenAs: 'gradle', warnings: [{ at: 'gradle', message: expect.stringContaining('installGradle: true of ghcr.io/devcontainers/features/java') as string }] });
    // Others are left as written: local folders, OCI ids, and short ids the reference does not know (refused later).
    expect(byId['./mine']).toMatchObject({ warnings: [] });
    expect(byId['fish']).toMatchObject({ warnings: [] });
    expect(mapped.map((f) => f.userId)).not.toContain('gradle');
  });

  it('a deprecated feature folded into one that is listed adds its option there (a version string becomes the version option)', () => {
    const mapped = mapLegacyFeatures({ 'ghcr.io/devcontainers/features/python:1': '3.12', jupyterlab: {} });
    expect(mapped).toEqual([
      {
        userId: 'ghcr.io/devcontainers/features/python:1',
        value: { version: '3.12', installJupyterlab: true },
        writtenAs: 'ghcr.io/devcontainers/features/python:1',
        warnings: [{ at: 'jupyterlab', message: expect.stringContaining('"jupyterlab" is a deprecated feature') as string }],
      },
    ]);
  });

  it('plain HTTP is only for loopback registries', () => {
    expect(['127.0.0.1:5000', 'localhost:80', '[::1]:5000', '127.1.2.3'].every(isLoopback)).toBe(true);
    expect(['ghcr.io', '10.0.0.1:5000', '127.0.0.1.nip.io:5000', 'localhost.evil.com'].some(isLoopback)).toBe(false);
  });
});

describe('install order', () => {
  const node = (userId: string, extra: Partial<OrderNode> = {}): OrderNode => ({ key: userId, source: userId, aliases: [], kind: 'oci', userId, tag: null, optionsKey: '{}', dependsOn: [], installsAfter: [], ...extra });
  const ids = (result: ReturnType<typeof installOrder>): string[] => ('error' in result ? [result.error] : result.order.map((n) => n.userId));

  it('rounds sorted by id; installsAfter waits only for features in the set; dependsOn always', () => {
    expect(ids(installOrder([node('c'), node('a'), node('b')], []))).toEqual(['a', 'b', 'c']);
    expect(ids(installOrder([node('a', { installsAfter: ['b'] }), node('b')], []))).toEqual(['b', 'a']);
    expect(ids(installOrder([node('a', { installsAfter: ['missing'] }), node('b')], []))).toEqual(['a', 'b']);
    expect(ids(installOrder([node('a', { dependsOn: ['z'] }), node('z')], []))).toEqual(['z', 'a']);
    // A legacy id satisfies installsAfter.
    expect(ids(installOrder([node('a', { installsAfter: ['old-b'] }), node('b', { aliases: ['old-b'] })], []))).toEqual(['b', 'a']);
  });

  it('overrideFeatureInstallOrder: the first listed first, within what dependencies allow', () => {
    expect(ids(installOrder([node('a'), node('b'), node('c')], ['c', 'b']))).toEqual(['c', 'b', 'a']);
    expect(ids(installOrder([node('a'), node('b', { installsAfter: ['a'] })], ['b']))).toEqual(['a', 'b']);
  });

  it('a cycle is an error naming the features', () => {
    expect(ids(installOrder([node('a', { installsAfter: ['b'] }), node('b', { installsAfter: ['a'] }), node('c')], []))[0]).toMatch(/a, b wait for each other/);
  });
});

describe('feature layers (tar)', () => {
  it('unpacks folders and files of a tar made by tar -c .', async () => {
    const src = mkdtempSync(join(scratch, 'tar-src-'));
    mkdirSync(join(src, 'lib'));
    writeFileSync(join(src, 'install.sh'), '#!/bin/sh\n', { mode: 0o755 });
    writeFileSync(join(src, 'lib', 'x.txt'), 'x'.repeat(700));
    const long = 'l'.repeat(120);
    writeFileSync(join(src, long), 'long name');
    await run(['tar', '-cf', join(scratch, 'a.tar'), '-C', src, '.']);
    const dest = mkdtempSync(join(scratch, 'tar-dest-'));
    expect(extractTar(readFileSync(join(scratch, 'a.tar')), dest).sort()).toEqual(['install.sh', 'lib/x.txt', long].sort());
    expect(readFileSync(join(dest, 'lib/x.txt'), 'utf8')).toBe('x'.repeat(700));
    expect(readFileSync(join(dest, long), 'utf8')).toBe('long name');
  });

  it('refuses links and paths that leave the folder', async () => {
    const src = mkdtempSync(join(scratch, 'tar-link-'));
    symlinkSync('/etc/passwd', join(src, 'passwd'));
    await run(['tar', '-cf', join(scratch, 'link.tar'), '-C', src, '.']);
    expect(() => extractTar(readFileSync(join(scratch, 'link.tar')), mkdtempSync(join(scratch, 'd-')))).toThrow(/a link; a feature is folders and regular files/);
    const evil = Buffer.alloc(1536);
    evil.write('../escape', 0);
    evil.write('0000644\0', 100);
    evil.write('00000000001\0', 124);
    evil.write('0', 156);
    const dest = mkdtempSync(join(scratch, 'd-'));
    expect(() => extractTar(evil, dest)).toThrow(/outside the feature's folder/);
    expect(existsSync(join(dest, '..', 'escape'))).toBe(false);
  });
});

describe('resolveFeatures: local features', () => {
  it('reads each feature, resolves its options and orders them by installsAfter', async () => {
    const root = workspace('{"image":"i","features":{"./second":{},"./first":{"greeting":"hej"}}}', {
      first: { id: 'first', options: { greeting: { type: 'string', default: 'hello' } } },
      second: { id: 'second', installsAfter: ['./first'], containerEnv: { SECOND: 'yes' } },
    });
    const resolved = await resolveIn(root);
    expect(resolved.features.map((f) => [f.userId, f.consecutiveId, f.values])).toEqual([
      ['./first', 'first_0', { greeting: 'hej' }],
      ['./second', 'second_1', {}],
    ]);
    const dockerfile = featuresDockerfile(resolved.features, 'base:1', { containerUser: 'root', remoteUser: 'dev', imageUser: 'dev' });
    expect(dockerfile).toMatch(/^FROM base:1\nUSER root\n/);
    expect(dockerfile.indexOf('first_0')).toBeLessThan(dockerfile.indexOf('ENV SECOND="yes"'));
    expect(dockerfile.indexOf('ENV SECOND="yes"')).toBeLessThan(dockerfile.indexOf('second_1'));
    expect(dockerfile.trim().split('\n').pop()).toBe('USER dev');
    // An image name cannot add Dockerfile instructions.
    expect(() => featuresDockerfile(resolved.features, 'base:1\nRUN evil', { containerUser: 'root', remoteUser: 'root', imageUser: '' })).toThrow(/not an image reference/);
  });

  it('a changed option or feature file changes the hash, and with it the plan\'s devcontainer hash', async () => {
    const root = workspace('{"image":"i","features":{"./f":{"greeting":"a"}}}', { f: { id: 'f', options: { greeting: { type: 'string', default: 'x' } } } });
    const plan = async () => {
      const read = readDevcontainer({ workspaceFolder: root, env: {} });
      return planDevcontainer(read, { root, features: await resolveFeatures(read, { cacheDir: join(scratch, 'cache') }) }).input.devcontainer?.hash;
    };
    const first = await plan();
    writeFileSync(join(root, '.devcontainer/devcontainer.json'), '{"image":"i","features":{"./f":{"greeting":"b"}}}');
    const second = await plan();
    writeFileSync(join(root, '.devcontainer/f/install.sh'), '#!/bin/sh\necho changed\n');
    const third = await plan();
    expect(new Set([first, second, third]).size).toBe(3);
  });

  it('every problem at once, each at its line in devcontainer.json or the feature file', async () => {
    const root = workspace(
      `{
  "image": "i",
  "features": {
    "./f": { "flavour": "sour" },
    "./missing": {},
    "go": {},
    "./bad": {}
  }
}`,
      { f: { id: 'f', options: { flavour: { type: 'string', enum: ['plain', 'spicy'], default: 'plain' } } }, bad: { id: 'bad', options: { x: { type: 'number' } } } },
    );
    const error = await resolveIn(root).then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(error?.message).toContain('devcontainer/devcontainer.json:4:14: features["./f"].flavour: "flavour" is one of "plain", "spicy"; got "sour"');
    expect(error?.message).toMatch(/devcontainer.json:5:5: features\["\.\/missing"\]: the local feature folder .* does not exist/);
    expect(error?.message).toMatch(/devcontainer.json:6:5: features.go: "go" is a legacy short feature id/);
    expect(error?.message).toMatch(/bad\/devcontainer-feature.json:\d+:\d+: options.x.type: an option's type is "string" or "boolean"/);
  });

  it('a feature\'s capAdd, securityOpt, privileged, init, entrypoint and hooks are read; malformed ones are refused where they are', async () => {
    const root = workspace('{"image":"i","features":{"./dind":{}}}', {
      dind: { id: 'dind', privileged: true, init: true, capAdd: ['SYS_PTRACE'], securityOpt: ['seccomp=unconfined'], entrypoint: '/usr/local/share/docker-init.sh', onCreateCommand: 'echo a', postStartCommand: ['echo', 'b'] },
    });
    const resolution = await resolveIn(root);
    expect(resolution.features[0]?.contribution).toEqual({
      capAdd: ['SYS_PTRACE'],
      securityOpt: ['seccomp=unconfined'],
      privileged: true,
      init: true,
      entrypoint: '/usr/local/share/docker-init.sh',
      hooks: { onCreateCommand: { commands: [{ name: null, command: { shell: 'echo a' } }], parallel: false }, postStartCommand: { commands: [{ name: null, command: { argv: ['echo', 'b'] } }], parallel: false } },
    });
    const bad = workspace('{"image":"i","features":{"./bad":{}}}', { bad: { id: 'bad', capAdd: 'SYS_PTRACE', entrypoint: ['/x'], postCreateCommand: 3 } });
    const message = await resolveIn(bad).then(() => '', (e: unknown) => (e as Error).message);
    expect(message).toMatch(/bad\/devcontainer-feature.json:\d+:\d+: capAdd: must be an array of strings/);
    expect(message).toMatch(/bad\/devcontainer-feature.json:\d+:\d+: entrypoint: must be a string/);
    expect(message).toMatch(/bad\/devcontainer-feature.json:\d+:\d+: postCreateCommand: a hook is a string/);
  });

  it('a feature\'s mounts are read with the config\'s variables, in install order; a bad one is located at the feature', async () => {
    const root = workspace('{"image":"i","features":{"./dind":{}}}', { dind: { id: 'dind', mounts: ['source=dind-var-lib-docker-${devcontainerId},target=/var/lib/docker,type=volume', { source: '${localWorkspaceFolder}/x', target: '/x', type: 'bind' }] } });
    const resolved = await resolveIn(root);
    const read = readDevcontainer({ workspaceFolder: root, env: {} });
    expect(resolved.mounts).toEqual([
      { type: 'volume', source: `dind-var-lib-docker-${read.devcontainerId}`, target: '/var/lib/docker', readOnly: false },
      { type: 'bind', source: `${read.localWorkspaceFolder}/x`, target: '/x', readOnly: false },
    ]);
    const bad = workspace('{"image":"i","features":{"./f":{}}}', { f: { id: 'f', mounts: ['type=nfs,target=/n'] } });
    await expect(resolveIn(bad)).rejects.toThrow(/features\["\.\/f"\]: a mount of the feature f: mount type "nfs" is not bind, volume or tmpfs/);
  });
});

describe('pulling OCI features from a registry', () => {
  it('pulls with the anonymous token flow, checks digests, caches, and falls back to the cache offline', async () => {
    const registry = await startTestRegistry({ token: true });
    try {
      const folder = mkdtempSync(join(scratch, 'oci-feature-'));
      writeFileSync(join(folder, 'devcontainer-feature.json'), '{"id":"hello","version":"1.0.0"}');
      writeFileSync(join(folder, 'install.sh'), '#!/bin/sh\necho hello\n');
      const digest = await registry.pushFeature('berth/features/hello', '1', folder);
      const ref = parseFeatureRef(`${registry.host}/berth/features/hello:1`, '/w/.devcontainer/devcontainer.json', '/w');
      if ('error' in ref || ref.kind !== 'oci') throw new Error('bad ref');
      const cache = mkdtempSync(join(scratch, 'oci-cache-'));
      const pulled = await pullOciFeature(ref, cache);
      expect(pulled.manifestDigest).toBe(digest);
      expect(readFileSync(join(pulled.dir, 'install.sh'), 'utf8')).toContain('echo hello');
      // The challenge, the token, then the manifest and the blob with it.
      expect(registry.requests.slice(-4)).toEqual(['GET /v2/berth/features/hello/manifests/1', 'GET /token', 'GET /v2/berth/features/hello/manifests/1', expect.stringMatching(/^GET \/v2\/berth\/features\/hello\/blobs\/sha256:/)]);

      registry.setDown(true);
      const offline = await pullOciFeature(ref, cache);
      expect(offline.dir).toBe(pulled.dir);
      expect(offline.offlineNote).toMatch(/could not be reached; installed the copy fetched before/);
      registry.setDown(false);

      const missing = parseFeatureRef(`${registry.host}/berth/features/nope:1`, '/w/.devcontainer/devcontainer.json', '/w');
      if ('error' in missing || missing.kind !== 'oci') throw new Error('bad ref');
      await expect(pullOciFeature(missing, cache)).rejects.toMatchObject({ code: 'E_NOT_FOUND', message: expect.stringContaining('answered 404') as string });
      const pinned = parseFeatureRef(`${registry.host}/berth/features/hello@sha256:${'0'.repeat(64)}`, '/w/.devcontainer/devcontainer.json', '/w');
      if ('error' in pinned || pinned.kind !== 'oci') throw new Error('bad ref');
      await expect(pullOciFeature(pinned, cache)).rejects.toThrow(/404|digest/);
    } finally {
      await registry.close();
    }
  });

  it('writes devcontainer-lock.json as the reference does, and a locked feature stays at its digest when the tag moves', async () => {
    const registry = await startTestRegistry();
    try {
      const folder = mkdtempSync(join(scratch, 'oci-lock-'));
      writeFileSync(join(folder, 'devcontainer-feature.json'), '{"id":"tool","version":"1.0.0"}');
      writeFileSync(join(folder, 'install.sh'), '#!/bin/sh\necho one\n');
      const firstDigest = await registry.pushFeature('berth/features/tool', '1', folder);
      const id = `${registry.host}/berth/features/tool:1`;
      const root = workspace(JSON.stringify({ image: 'i', features: { [id]: {} } }));
      const first = await resolveIn(root);
      expect(first.features[0]?.contentHash).toBe(firstDigest);
      expect(JSON.parse(readFileSync(join(root, '.devcontainer/devcontainer-lock.json'), 'utf8'))).toEqual({
        features: { [id]: { version: '1.0.0', resolved: `${registry.host}/berth/features/tool@${firstDigest}`, integrity: firstDigest } },
      });
      expect(first.notes).toContain('wrote .devcontainer/devcontainer-lock.json (the OCI features\' digests, as the reference does)');

      // The tag moves on: the lockfile keeps the feature where it was.
      writeFileSync(join(folder, 'install.sh'), '#!/bin/sh\necho two\n');
      const secondDigest = await registry.pushFeature('berth/features/tool', '1', folder);
      expect(secondDigest).not.toBe(firstDigest);
      const pinned = await resolveIn(root);
      expect(pinned.features[0]?.contentHash).toBe(firstDigest);
      expect(readFileSync(join(pinned.features[0]?.dir ?? '', 'install.sh'), 'utf8')).toContain('echo one');
      expect(pinned.hash).toBe(first.hash);

      // Without the lockfile, the tag's new content (and a new lockfile).
      rmSync(join(root, '.devcontainer/devcontainer-lock.json'));
      const moved = await resolveIn(root);
      expect(moved.features[0]?.contentHash).toBe(secondDigest);
      expect(moved.hash).not.toBe(first.hash);
    } finally {
      await registry.close();
    }
  });
});
