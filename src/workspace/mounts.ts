import { realpathSync, statSync } from 'node:fs';
import { join, relative, isAbsolute, sep } from 'node:path';
import { BerthError } from '../errors.js';
import type { Mount } from '../runtime/types.js';
import type { WorkspaceSpec } from './spec.js';

export const WORKSPACE_TARGET = '/workspace';

export interface SkippedMount {
  source: string;
  reason: string;
}

export interface MountPlan {
  mounts: Mount[];
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
 * Turns a spec into the mounts to make: the root at /workspace, extras at their own absolute path.
 * Paths are resolved through symlinks before the sensitive-path check, so a link cannot smuggle
 * ~/.ssh in. A missing root is an error; a missing extra is skipped and reported.
 */
export function planMounts(spec: WorkspaceSpec, context: MountContext): MountPlan {
  const root = resolveExisting(spec.root);
  if (root === undefined || !statSync(root).isDirectory()) {
    throw new BerthError('E_INVALID_INPUT', `The workspace root ${spec.root} does not exist or is not a folder.`, {
      hint: 'Create it, or pass --root with an existing folder.',
    });
  }
  const sensitive = sensitivePaths(context);
  if (!spec.allowSensitiveMounts) refuseSensitive(spec.root, root, sensitive);
  const mounts: Mount[] = [{ source: root, target: WORKSPACE_TARGET, readOnly: false }];
  const skipped: SkippedMount[] = [];
  for (const extra of spec.mounts) {
    const real = resolveExisting(extra.source);
    if (real === undefined) {
      skipped.push({ source: extra.source, reason: 'does not exist (skipped, not created)' });
      continue;
    }
    if (!spec.allowSensitiveMounts) refuseSensitive(extra.source, real, sensitive);
    if (extra.source === WORKSPACE_TARGET || isInside(extra.source, WORKSPACE_TARGET)) {
      throw new BerthError('E_INVALID_INPUT', `Cannot mount ${extra.source}: ${WORKSPACE_TARGET} is where the workspace root goes.`, {
        hint: 'Mount a folder outside /workspace, or make it the root with --root.',
      });
    }
    mounts.push({ source: real, target: extra.source, readOnly: extra.readOnly });
  }
  return { mounts, skipped };
}

interface SensitivePath {
  path: string;
  what: string;
  /** Mounting something inside it is as bad as mounting it (true for secrets folders, not for home). */
  guardsInside: boolean;
}

function sensitivePaths({ userHome, berthHome, env }: MountContext): SensitivePath[] {
  const paths: SensitivePath[] = [
    { path: userHome, what: 'your home folder', guardsInside: false },
    { path: join(userHome, '.ssh'), what: 'your SSH keys (~/.ssh)', guardsInside: true },
    { path: join(userHome, '.gnupg'), what: 'your GnuPG keys (~/.gnupg)', guardsInside: true },
    { path: berthHome, what: "Berth's own state folder", guardsInside: true },
    { path: join(userHome, 'Library/Application Support/com.apple.container'), what: "Apple container's state", guardsInside: true },
  ];
  const sockets = ['/var/run/docker.sock', '/run/docker.sock', '/run/podman/podman.sock', '/var/run/podman/podman.sock', join(userHome, '.docker/run/docker.sock')];
  const runtimeDir = env['XDG_RUNTIME_DIR'];
  if (runtimeDir) sockets.push(join(runtimeDir, 'docker.sock'), join(runtimeDir, 'podman/podman.sock'));
  const dockerHost = env['DOCKER_HOST'];
  if (dockerHost?.startsWith('unix://')) sockets.push(dockerHost.slice('unix://'.length));
  for (const socket of sockets) paths.push({ path: socket, what: 'a container engine socket (root on the host)', guardsInside: true });
  // Compare real paths too: /var/run is often a link to /run, and home may be behind a link.
  const withRealPaths = [...paths];
  for (const entry of paths) {
    const real = resolveExisting(entry.path);
    if (real !== undefined && real !== entry.path) withRealPaths.push({ ...entry, path: real });
  }
  return withRealPaths;
}

function refuseSensitive(given: string, real: string, sensitive: readonly SensitivePath[]): void {
  const refuse = (why: string): never => {
    throw new BerthError('E_INVALID_INPUT', `Refusing to mount ${given}${given === real ? '' : ` (really ${real})`}: ${why}.`, {
      hint: 'Mount a narrower folder. If you really mean it, pass --allow-sensitive-mount.',
    });
  };
  if (real === '/') refuse('it is the whole filesystem');
  for (const s of sensitive) {
    if (real === s.path) refuse(`it is ${s.what}`);
    if (s.guardsInside && isInside(real, s.path)) refuse(`it is inside ${s.what}`);
    if (isInside(s.path, real)) refuse(`it contains ${s.what} (${s.path})`);
  }
}

/** True when `path` is strictly below `folder`. */
function isInside(path: string, folder: string): boolean {
  const rel = relative(folder, path);
  return rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel);
}

function resolveExisting(path: string): string | undefined {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
}
