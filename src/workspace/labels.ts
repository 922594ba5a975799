/** Labels Berth puts on everything it creates. Ownership needs managed + owner; a name proves nothing. */
export const LABELS = {
  managed: 'dev.berth.managed',
  workspace: 'dev.berth.workspace',
  /** The installation that created it: a uuid kept in $BERTH_HOME. */
  owner: 'dev.berth.owner',
  /** Hash of the normalized spec (image id included): equal hash means "reuse". */
  specHash: 'dev.berth.spec-hash',
  /** Per-part hashes, so drift can be explained ("mounts changed"), not just detected. */
  specParts: 'dev.berth.spec-parts',
  /** The workspace root on the host, for listings. */
  root: 'dev.berth.root',
  /** A nonce per create call: a failed create cleans up only the container its own call made. */
  createdBy: 'dev.berth.created-by',
  /** On a named volume Berth made for a workspace's devcontainer mounts (with `owner`); kept by rm. */
  volumeWorkspace: 'dev.berth.volume-workspace',
} as const;

/**
 * On a devcontainer's other compose services: whose workspace they serve. Not LABELS.managed:
 * listings and gc take managed containers for workspaces; these serve one (gc collects them apart).
 */
export const COMPOSE_LABELS = { workspace: 'dev.berth.compose-workspace', owner: 'dev.berth.compose-owner' } as const;

/** True when the labels say this installation of Berth created the thing. */
export function isOwnedBy(labels: Readonly<Record<string, string>>, owner: string): boolean {
  return labels[LABELS.managed] === 'true' && labels[LABELS.owner] === owner;
}
