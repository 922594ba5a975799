import { createHmac } from 'node:crypto';
import type { MountPlan } from './mounts.js';
import type { WorkspaceSpec } from './spec.js';
import { HOST_USER, hostIds } from './workspace-user.js';

/** The parts of a workspace whose change means "recreate the container". */
export type SpecPart = 'image' | 'mounts' | 'env' | 'resources' | 'ports' | 'network' | 'devcontainer' | 'user' | 'privileges';

export interface SpecHash {
  hash: string;
  /**
   * `image:…,mounts:…,env:…,resources:…`, stored as a label so drift can name what changed. No `=`:
   * Apple `container` rejects label values that contain one.
   */
  parts: string;
}

/**
 * Hashes what the container was made from, including the image's content id (so a rebuilt image
 * is drift) and the mounts as planned (so a skipped or newly present extra is drift too).
 * Keyed with the installation id: env values may be secrets, and labels are readable by anyone
 * who can reach the engine, so an unkeyed hash of a short secret could be guessed.
 */
export function specHash(
  spec: WorkspaceSpec,
  plan: MountPlan,
  imageId: string | null,
  key: string,
  options: { previewPorts?: number; guestFirewall?: boolean; hostIds?: { uid: number; gid: number } | null } = {},
): SpecHash {
  const digest = (value: unknown): string => createHmac('sha256', key).update(JSON.stringify(value)).digest('hex');
  const parts: Partial<Record<SpecPart, string>> = {
    image: digest([spec.image, imageId]).slice(0, 12),
    // Volumes and tmpfs join the list only when there are some: other containers' hashes stay as they were.
    mounts: digest([...plan.mounts.map((m) => [m.source, m.target, m.readOnly]), ...plan.volumes.map((v) => ['volume', v.name, v.target, v.readOnly]), ...plan.tmpfs.map((t) => ['tmpfs', t.target])]).slice(0, 12),
    env: digest(Object.entries(spec.env).sort(([a], [b]) => (a < b ? -1 : 1))).slice(0, 12),
    resources: digest([spec.cpus, spec.memoryBytes]).slice(0, 12),
    // The pool's size, not its host ports: those are chosen afresh at every create.
    ports: digest(options.previewPorts ?? 0).slice(0, 12),
    // Egress on or off decides the network (and, on Apple, the guest firewall in the main process;
    // elsewhere the container's confinement, no ports and no resolver out: a container made before
    // either existed is drift); the rules themselves change live.
    // Host mode's sandbox choice joins it, left out when auto: hashes made before it existed still hold.
    network: digest(withSandbox(spec, spec.egress === null ? false : options.guestFirewall === true ? ['egress', 'guest-firewall', 1] : ['egress', 'confined', 1])).slice(0, 12),
  };
  // Only for a workspace read from a devcontainer.json: every other container's hash stays as it was.
  if (spec.devcontainer) parts.devcontainer = digest([spec.devcontainer.file, spec.devcontainer.hash]).slice(0, 12);
  // Only for a workspace with a user: every other container's hash stays as it was. `host` is hashed
  // with the ids it maps to, so the same spec from another host user is drift too.
  if (typeof spec.user === 'string') parts.user = digest([spec.user, spec.user === HOST_USER ? (options.hostIds ?? hostIds()) : null]).slice(0, 12);
  // Only for a workspace given privileges or entrypoints: every other container's hash stays as it was.
  if (spec.privileges || spec.entrypoints) parts.privileges = digest([spec.privileges ?? null, spec.entrypoints ?? []]).slice(0, 12);
  const encoded = Object.entries(parts).map(([name, value]) => `${name}:${String(value)}`).join(',');
  return { hash: digest(encoded).slice(0, 16), parts: encoded };
}

function withSandbox(spec: WorkspaceSpec, network: unknown): unknown {
  // A spec stored before the field existed has none: auto.
  return (spec.sandbox ?? 'auto') === 'auto' ? network : [network, 'host-sandbox', spec.sandbox];
}

/** Which parts differ between a container's recorded parts label and the desired ones. */
export function driftedParts(recorded: string | undefined, desired: string): SpecPart[] {
  const parse = (text: string | undefined): Map<string, string> =>
    new Map((text ?? '').split(',').map((pair) => pair.split(':') as [string, string]));
  const before = parse(recorded);
  return [...parse(desired)].filter(([name, value]) => before.get(name) !== value).map(([name]) => name as SpecPart);
}
