import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { planMounts } from '../../src/workspace/mounts.js';
import { protectedPaths, SENSITIVE_PATHS, sensitiveMatch, sensitivePathsMarkdown, type SensitiveContext } from '../../src/runtime/sensitive-paths.js';
import { normalizeSpec } from '../../src/workspace/spec.js';
import { thrownBy } from '../support/expect-code.js';

/**
 * The mount guard against a fake machine: a home with every credential the table names, engine
 * sockets named by every variable Berth reads and by a docker context, and links to all of them.
 */
const scratch = realpathSync(mkdtempSync(join(tmpdir(), 'berth-sensitive-')));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const userHome = join(scratch, 'home');
const berthHome = join(scratch, 'state');
const sockets = join(scratch, 'sockets');
const xdg = join(scratch, 'xdg');
const env: NodeJS.ProcessEnv = {
  DOCKER_HOST: `unix://${join(sockets, 'docker-host.sock')}`,
  CONTAINER_HOST: `unix://${join(sockets, 'container-host.sock')}`,
  BERTH_DOCKER_API: join(sockets, 'berth-docker.sock'),
  BERTH_PODMAN_API: join(sockets, 'berth-podman.sock'),
  XDG_RUNTIME_DIR: xdg,
};
const contextSocket = join(scratch, 'ctx', 'docker.sock');
const context: SensitiveContext = { userHome, berthHome, env };

// The fake tree: every row that lives under ~, $BERTH_HOME or an env path exists (files for
// files, folders for folders), each with something inside so "inside" can be tried.
for (const row of SENSITIVE_PATHS) {
  for (const { path } of protectedPaths(context, 0).filter((p) => p.row === row)) {
    if (!path.startsWith(scratch)) continue;
    if (/\.sock$|netrc$|npmrc$|credentials$|pgpass$/.test(path)) {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, 'secret\n');
    } else mkdirSync(join(path, 'inner'), { recursive: true });
  }
}
const contextName = 'remote-ish';
const contextMeta = join(userHome, '.docker', 'contexts', 'meta', createHash('sha256').update(contextName).digest('hex'));
mkdirSync(contextMeta, { recursive: true });
writeFileSync(join(contextMeta, 'meta.json'), JSON.stringify({ Name: contextName, Metadata: {}, Endpoints: { docker: { Host: `unix://${contextSocket}`, SkipTLSVerify: false } } }));
mkdirSync(dirname(contextSocket), { recursive: true });
writeFileSync(contextSocket, '');
const project = join(userHome, 'src', 'project');
mkdirSync(project, { recursive: true });
const links = join(scratch, 'links');
mkdirSync(links);

/** A symlink with a harmless name to `target`. */
function link(target: string): string {
  const at = join(links, `innocent-${createHash('sha256').update(target).digest('hex').slice(0, 8)}`);
  if (!existsSync(at)) symlinkSync(target, at);
  return at;
}

function refusal(spec: { root?: string; mounts?: string[] }): Error & { hint?: string } {
  const normalized = normalizeSpec({ root: spec.root ?? project, image: 'x', mounts: spec.mounts ?? [] }, '/');
  return thrownBy(() => planMounts(normalized, context));
}

describe('the sensitive-path table', () => {
  it.each(SENSITIVE_PATHS.map((row) => [row.path, row] as const))('%s: refused itself, as a parent, and inside when the row says so', (_label, row) => {
    // The row on its own: each row must do its job, not lean on another.
    const own = protectedPaths(context, 0).filter((p) => p.row === row);
    expect(own.length, `${row.path} has no path on the fake machine`).toBeGreaterThan(0);
    for (const { path } of own) {
      expect(sensitiveMatch(path, own), path).toMatchObject({ row, relation: 'is' });
      if (path !== '/') expect(sensitiveMatch(dirname(path), own), dirname(path)).toMatchObject({ row, relation: 'contains' });
      const inner = join(path, 'inner', 'file');
      if (row.covers === 'inside') expect(sensitiveMatch(inner, own), inner).toMatchObject({ row, relation: 'inside' });
      else expect(sensitiveMatch(inner, own), inner).toBeNull();
    }
  });

  it('leaves a project inside the home alone, and a folder next to the state folder', () => {
    const table = protectedPaths(context, 0);
    expect(sensitiveMatch(project, table)).toBeNull();
    expect(sensitiveMatch(join(scratch, 'elsewhere'), table)).toBeNull();
    const normalized = normalizeSpec({ root: project, image: 'x', mounts: [join(userHome, 'src')] }, '/');
    expect(planMounts(normalized, context).mounts.map((m) => m.source)).toEqual([project, join(userHome, 'src')]);
  });

  it('is the table in the README', () => {
    const readme = readFileSync(join(import.meta.dirname, '../../README.md'), 'utf8');
    expect(readme, 'README is stale: run `npm run mount-table`').toContain(`<!-- sensitive-paths:start -->\n${sensitivePathsMarkdown()}\n<!-- sensitive-paths:end -->`);
  });
});

describe('planMounts refuses every sensitive source, through a symlink too', () => {
  // Each row's concrete path on this machine that exists (fake tree, or the real /etc, /proc...).
  const existing = protectedPaths(context, 0).filter((p) => p.path !== '/' && existsSync(p.path));
  const cases = [
    ...existing.map((p) => [`${p.row.path} (${p.path})`, p.path, p.row.path] as const),
    ...existing.map((p) => [`a link to ${p.row.path}`, link(p.path), p.row.path] as const),
    ['/', '/', '/'] as const,
    ['the docker context socket', contextSocket, 'docker contexts'] as const,
  ];

  it.each(cases)('%s as an extra mount', (_label, source, rule) => {
    const error = refusal({ mounts: [source] });
    expect(error.message).toMatch(new RegExp(`^Refusing to mount ${source.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    expect(error.message).toContain(`(rule ${rule}:`);
    expect(error.hint).toContain('--allow-sensitive-mount');
  });

  it('the listed holes: a root linked to /etc, ~/.aws, ~/.kube, gcloud, azure, .netrc, .npmrc, /proc, /var/lib/containers, the podman API socket', () => {
    expect(refusal({ root: link('/etc') }).message).toContain('(really /etc): it is /etc');
    for (const [source, rule] of [
      [join(userHome, '.aws'), '~/.aws'],
      [join(userHome, '.kube'), '~/.kube'],
      [join(userHome, '.config/gcloud'), '~/.config/gcloud'],
      [join(userHome, '.azure'), '~/.azure'],
      [join(userHome, '.netrc'), '~/.netrc'],
      [join(userHome, '.npmrc'), '~/.npmrc'],
      ['/proc', '/proc'],
      ['/proc/self', '/proc'],
      [join(sockets, 'berth-podman.sock'), '$BERTH_PODMAN_API'],
      [join(userHome, '.config'), '~/.config/gcloud'],
    ]) {
      expect(refusal({ mounts: [source ?? ''] }).message, source).toContain(`(rule ${rule ?? ''}:`);
    }
    if (existsSync('/var/lib/containers')) expect(refusal({ mounts: ['/var/lib/containers'] }).message).toContain('(rule /var/lib/containers:');
    else expect(sensitiveMatch('/var/lib/containers', protectedPaths(context, 0))?.row.path).toBe('/var/lib/containers');
  });

  it('mounts them all with --allow-sensitive-mount', () => {
    const normalized = normalizeSpec({ root: link('/etc'), image: 'x', mounts: [join(userHome, '.aws'), '/proc'], allowSensitiveMounts: true }, '/');
    expect(planMounts(normalized, context).mounts.map((m) => m.source)).toEqual(['/etc', '/proc', join(userHome, '.aws')]);
  });
});

describe('a devcontainer workspaceMount of a folder holding the root goes through the same rules', () => {
  const holding = (source: string, target: string, folder: string, root = project) =>
    normalizeSpec({ root, image: 'x', workspaceFolder: folder, workspaceMount: { source, target, readOnly: false } }, '/');

  it('the home folder or / is refused exactly as --mount refuses it', () => {
    // project is ~/src/project: a workspaceMount of ~ holds it at /h/src/project.
    const viaFlag = refusal({ mounts: [userHome] });
    const viaWorkspaceMount = thrownBy(() => planMounts(holding(userHome, '/h', '/h/src/project'), context));
    expect(viaWorkspaceMount.message).toBe(viaFlag.message);
    expect(viaWorkspaceMount.message).toMatch(/^Refusing to mount .*: it is /);
    const root = thrownBy(() => planMounts(holding('/', '/host', posix.join('/host', project)), context));
    expect(root.message).toBe(refusal({ mounts: ['/'] }).message);
    // ...and through a link to the home.
    expect(thrownBy(() => planMounts(holding(link(userHome), '/h', '/h/src/project', join(link(userHome), 'src/project')), context)).message).toMatch(/^Refusing to mount .* \(really .*\): it is /);
    // Unless the user says so, as for --mount.
    const allowed = normalizeSpec({ root: project, image: 'x', workspaceFolder: '/h/src/project', workspaceMount: { source: userHome, target: '/h', readOnly: true }, allowSensitiveMounts: true }, '/');
    expect(planMounts(allowed, context).mounts[0]).toEqual({ source: userHome, target: '/h', readOnly: true });
  });

  it('a folder holding the root is mounted in its place; the root must be at the workspace folder in it, through symlinks too', () => {
    expect(planMounts(holding(join(userHome, 'src'), '/workspaces', '/workspaces/project'), context).mounts[0]).toEqual({ source: join(userHome, 'src'), target: '/workspaces', readOnly: false });
    expect(() => holding(join(userHome, 'src'), '/workspaces', '/workspaces')).toThrow(/is at \/workspaces\/project in the workspaceMount/);
    expect(() => holding(join(scratch, 'elsewhere'), '/workspaces', '/workspaces/project')).toThrow(/does not hold the workspace root/);
    // A root named through a link that holds it by name only: the real folder is elsewhere.
    const decoy = join(scratch, 'decoy');
    mkdirSync(decoy, { recursive: true });
    if (!existsSync(join(decoy, 'project'))) symlinkSync(join(scratch, 'elsewhere-project'), join(decoy, 'project'));
    mkdirSync(join(scratch, 'elsewhere-project'), { recursive: true });
    const spec = holding(decoy, '/workspaces', '/workspaces/project', join(decoy, 'project'));
    expect(() => planMounts(spec, context)).toThrow(/is not at \/workspaces\/project in the workspaceMount/);
  });
});
