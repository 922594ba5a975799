import { readFileSync } from 'node:fs';
import type { Berth } from '../berth.js';
import { BerthError } from '../errors.js';
import { planManifest, type PlannedManifest } from '../orchestrator/plan-manifest.js';

/**
 * Plans a manifest through the one planner (`planManifest`: runtimes chosen as `berth plan` does,
 * the memory budget, a `plan.made` event). Workspaces that live on another runtime than the
 * daemon's default are planned on it: the daemon's Berth serves every runtime.
 */
export async function planOnDaemon(berth: Berth, file: string, env: NodeJS.ProcessEnv = process.env): Promise<PlannedManifest> {
  refuseNonManifest(file);
  const kind = berth.runtime.kind;
  return planManifest(file, {
    runtime: kind,
    env,
    open: (choice) => berth.targetFor(choice),
  });
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
