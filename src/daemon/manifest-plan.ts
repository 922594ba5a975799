import { readFileSync } from 'node:fs';
import type { Berth } from '../berth.js';
import { BerthError } from '../errors.js';
import { planManifest, type ManifestPlan } from '../orchestrator/apply.js';
import { loadManifest, type DeclaredState } from '../orchestrator/manifest.js';
import { planHash } from '../orchestrator/plan.js';

export interface RuntimePlan {
  state: DeclaredState;
  planned: ManifestPlan;
  hash: string;
  /** Declared workspaces that live on another runtime than this daemon's: not planned here. */
  elsewhere: string[];
}

/**
 * Plans a manifest's workspaces on the daemon's runtime, choosing each workspace's runtime as
 * `berth plan` does (its own choice, `sandbox: vm` → apple, else the default).
 */
export async function planOnRuntime(berth: Berth, file: string): Promise<RuntimePlan> {
  refuseNonManifest(file);
  const state = loadManifest(file);
  const kind = berth.runtime.kind;
  const runtimeOf = (w: DeclaredState['workspaces'][number]): string => w.runtime ?? (w.sandbox === 'vm' ? 'apple' : kind);
  const mine = state.workspaces.filter((w) => runtimeOf(w) === kind);
  const planned = await planManifest(berth, state, mine);
  return { state, planned, hash: planHash(planned.plan.actions), elsewhere: state.workspaces.filter((w) => runtimeOf(w) !== kind).map((w) => w.id) };
}

/** A manifest says `version:` or `workspaces:` at the top level, unindented (YAML block style). */
const MANIFEST_KEY = /^(?:version|workspaces)\s*:/m;

/**
 * The daemon reads any file its user can, so a path that is not a manifest (`/etc/shadow`-like,
 * `~/.netrc`, a binary) is refused by what it is, never with its lines: the manifest parser's
 * detailed problems quote the text they stumbled on, which would hand that file to the caller.
 */
function refuseNonManifest(file: string): void {
  let head: string;
  try {
    head = readFileSync(file).subarray(0, 1024 * 1024).toString('utf8');
  } catch {
    return; // loadManifest says why it cannot be read
  }
  if (!MANIFEST_KEY.test(head) || head.includes('\u0000')) {
    throw new BerthError('E_INVALID_INPUT', `${file} is not a manifest: it has no top-level "version:" or "workspaces:" key.`, {
      hint: 'Point at a berth.yaml (`berth schema` prints its JSON Schema); the file\'s content is not echoed.',
    });
  }
}
