import { realpathSync, statSync } from 'node:fs';
import { BerthError } from '../errors.js';
import type { Mount, TmpfsMount, VolumeMount } from '../runtime/types.js';
import { mountTarget, rootTarget, type WorkspaceMount, type WorkspaceSpec } from './spec.js';
import { isAbsolute, posix, relative, sep } from 'node:path';
import { isInside, protectedPaths, sensitiveMatch, type ProtectedPath } from '../runtime/sensitive-paths.js';

export const WORKSPACE_TARGET = '/workspace';

export interface SkippedMount {
  source: string;
  reason: string;
}

export interface MountPlan {
  /** Binds of host paths: the root first. */
  mounts: Mount[];
  /** Engine volumes (named ones are labelled when the container spec is made: container-spec.ts). */
  volumes: VolumeMount[];
  tmpfs: TmpfsMount[];
  /** Extras that were not mounted (missing sources are skipped, never created). */
  skipped: SkippedMount[];
}

export interface MountContext {
  /** The user's home folder. */
  userHome: string;
  /** Berth's own state folder. */
  berthHome: string;
  env: NodeJS.ProcessEnv;
}

/**
 * Turns a spec into the mounts to make: the root at /workspace (or the workspace folder), extras at
 * their own absolute path or the target given; volumes and tmpfs as they are. Paths are resolved
 * through symlinks before the sensitive-path check, so a link cannot smuggle ~/.ssh in, whatever
 * the target. A missing root is an error; a missing extra is skipped and reported.
 */
export function planMounts(spec: WorkspaceSpec, context: MountContext): MountPlan {
  const root = resolveExisting(spec.root);
  if (root === undefined || !statSync(root).isDirectory()) {
    throw new BerthError('E_INVALID_INPUT', `The workspace root ${spec.root} does not exist or is not a folder.`, {
      hint: 'Create it, or pass --root with an existing folder.',
    });
  }
  // The sockets named in Berth's own environment too, when the embedder handed it another one.
  const sensitive = context.env === process.env ? protectedPaths(context) : [...protectedPaths(context), ...protectedPaths({ ...context, env: process.env })];
  if (!spec.allowSensitiveMounts) refuseSensitive(spec.root, root, sensitive);
  const rootMount = spec.workspaceMount ? folderHoldingRoot(spec, spec.workspaceMount, root, sensitive) : { source: root, target: rootTarget(spec), readOnly: false };
  const target = rootMount.target;
  const mounts: Mount[] = [rootMount];
  const volumes: VolumeMount[] = [];
  const tmpfs: TmpfsMount[] = [];
  const skipped: SkippedMount[] = [];
  const taken = new Set([target]);
  for (const extra of spec.mounts) {
    const at = mountTarget(extra);
    // Two mounts at one path: the engine would refuse (docker) or hide one (podman); say which.
    if (taken.has(at)) {
      throw new BerthError('E_INVALID_INPUT', `Cannot mount ${extra.source || extra.type || 'a folder'} at ${at}: ${at === target ? 'the workspace root goes there' : 'another mount goes there'}.`, {
        hint: extra.target === undefined ? 'Mount a folder outside /workspace, or make it the root with --root.' : 'Give each mount a target of its own.',
      });
    }
    taken.add(at);
    if (extra.type === 'tmpfs') {
      tmpfs.push({ target: at });
      continue;
    }
    if (extra.type === 'volume') {
      volumes.push({ name: extra.source === '' ? null : extra.source, target: at, readOnly: extra.readOnly });
      continue;
    }
    const real = resolveExisting(extra.source);
    if (real === undefined) {
      skipped.push({ source: extra.source, reason: 'does not exist (skipped, not created)' });
      continue;
    }
    if (!spec.allowSensitiveMounts) refuseSensitive(extra.source, real, sensitive);
    // A folder mounted at its own path inside the root's target would shadow the root's files there.
    if (extra.target === undefined && isInside(extra.source, target)) {
      throw new BerthError('E_INVALID_INPUT', `Cannot mount ${extra.source}: ${target} is where the workspace root goes.`, {
        hint: 'Mount a folder outside /workspace, or make it the root with --root.',
      });
    }
    mounts.push({ source: real, target: at, readOnly: extra.readOnly });
  }
  return { mounts, volumes, tmpfs, skipped };
}

/**
 * What planMounts reads from the filesystem for this spec, as one string: each source's real path
 * (null when missing) and whether the root is a folder. The same facts make the same plan (for the
 * same table of protected paths), so a listing keys the drift verdicts it reuses on them.
 */
export function mountFacts(spec: WorkspaceSpec): string {
  const root = resolveExisting(spec.root);
  let folder = false;
  try {
    folder = root !== undefined && statSync(root).isDirectory();
  } catch {
    folder = false;
  }
  // The workspaceMount's folder joins only when there is one: other workspaces' facts stay as they were.
  const holder = spec.workspaceMount ? [resolveExisting(spec.workspaceMount.source) ?? null] : [];
  return JSON.stringify([root ?? null, folder, ...spec.mounts.map((m) => resolveExisting(m.source) ?? null), ...holder]);
}

/**
 * A devcontainer's workspaceMount of a folder holding the root (spec.ts): mounted in the root's
 * place, through the same sensitive-path rules as any mount (a workspaceMount of the home folder
 * is refused as `--mount ~` is), and checked again through symlinks: the root must really be at the
 * workspace folder inside it, or files written there would land somewhere else.
 */
function folderHoldingRoot(spec: WorkspaceSpec, mount: WorkspaceMount, root: string, sensitive: readonly ProtectedPath[]): Mount {
  const source = resolveExisting(mount.source);
  if (source === undefined || !statSync(source).isDirectory()) {
    throw new BerthError('E_INVALID_INPUT', `The workspaceMount's folder ${mount.source} does not exist or is not a folder.`, { hint: 'Check workspaceMount\'s source in the devcontainer.json.' });
  }
  if (!spec.allowSensitiveMounts) refuseSensitive(mount.source, source, sensitive);
  const inside = relative(source, root);
  const at = inside === '' ? mount.target : posix.join(mount.target, ...inside.split(sep));
  if (inside === '..' || inside.startsWith(`..${sep}`) || isAbsolute(inside) || at !== rootTarget(spec)) {
    throw new BerthError('E_INVALID_INPUT', `The workspace root ${spec.root} (really ${root}) is not at ${rootTarget(spec)} in the workspaceMount (${mount.source}, really ${source}, at ${mount.target}).`, {
      hint: 'Mount the root or a folder above it, with workspaceFolder where the root is inside it (a symlink may point elsewhere).',
    });
  }
  return { source, target: mount.target, readOnly: mount.readOnly };
}

function refuseSensitive(given: string, real: string, table: readonly ProtectedPath[]): void {
  const match = sensitiveMatch(real, table);
  if (match === null) return;
  const { row, path, relation } = match;
  const what = relation === 'is' ? `it is ${path}` : relation === 'inside' ? `it is inside ${path}` : `it contains ${path}`;
  throw new BerthError('E_INVALID_INPUT', `Refusing to mount ${given}${given === real ? '' : ` (really ${real})`}: ${what}, ${row.reason} (rule ${row.path}: ${row.covers === 'inside' ? 'it, inside it, its parents' : 'it, its parents'}).`, {
    hint: 'Mount a narrower folder. If you really mean it, pass --allow-sensitive-mount (README: "Mounts Berth refuses").',
  });
}

function resolveExisting(path: string): string | undefined {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
}
