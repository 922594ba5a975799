import type { EgressPolicy } from '../egress/policy.js';
import type { RecordedEvent } from '../events.js';
import type { Runtime, RuntimeCapabilities } from '../runtime/types.js';
import type { WorkspaceSpecInput } from './spec.js';
import type { EnsureResult } from './ensure.js';

/** A workspace's egress settings and whether the network enforces them (`Berth.egress`). */
export interface EgressView {
  policy: EgressPolicy;
  enforced: boolean;
  network: string | null;
  proxy: string;
}

/** What `berth up --json` prints and `POST /workspaces/{id}/up` answers: one shape for both. */
export interface UpReport {
  id: string;
  runtime: string;
  action: EnsureResult['action'];
  reasons: string[];
  container: string;
  state: string;
  ip: string | null;
  image: string;
  mounts: EnsureResult['container']['mounts'];
  previewPorts: EnsureResult['container']['ports'];
  skippedMounts: EnsureResult['skippedMounts'];
  egress: EgressView | null;
  isolated: boolean;
  /** What confines it: a container, host mode's sandbox, or nothing (unconfined host mode). */
  isolation: 'container' | 'sandbox' | 'none';
  /** What went wrong without stopping it (a mount skipped, egress not shielded), for a person to read. */
  warnings: string[];
}

/**
 * What reporting an `up` needs of Berth: the facade (which sits above this folder) passes itself.
 * Listening to its events is how the warnings are collected.
 */
export interface UpSource {
  readonly runtime: { readonly capabilities: Pick<RuntimeCapabilities, 'containerIp' | 'isolation'> } & Pick<Runtime, 'inspect'>;
  up(id: string, spec?: WorkspaceSpecInput): Promise<EnsureResult>;
  status(id: string): Promise<{ ip: string | null }>;
  egress(id: string): EgressView | null;
  on(event: 'event', listener: (event: RecordedEvent) => void): unknown;
  off(event: 'event', listener: (event: RecordedEvent) => void): unknown;
}

/**
 * Brings the workspace up and reports it. The warnings are the warn events about this workspace
 * while it came up (a daemon serves others at the same time: their events are not this one's).
 */
export async function upAndReport(berth: UpSource, id: string, spec: WorkspaceSpecInput | undefined): Promise<UpReport> {
  const warnings: string[] = [];
  const collect = (event: { workspace?: string | undefined; level: string; message: string }): void => {
    if (event.level === 'warn' && event.workspace === id) warnings.push(event.message);
  };
  berth.on('event', collect);
  try {
    return await upReport(berth, await berth.up(id, spec), warnings);
  } finally {
    berth.off('event', collect);
  }
}

async function upReport(berth: UpSource, result: EnsureResult, warnings: string[]): Promise<UpReport> {
  const { container } = result;
  const isolation = berth.runtime.capabilities.isolation === 'container' ? 'container' : (await berth.runtime.inspect(container.name)).labels['berth.isolation'] === 'sandbox' ? 'sandbox' : 'none';
  // ensure() does not re-inspect after a start; whoever asked wants the address, so ask once.
  const ip = container.ip ?? (berth.runtime.capabilities.containerIp ? (await berth.status(result.id)).ip : null);
  return {
    id: result.id,
    runtime: result.runtime,
    action: result.action,
    reasons: result.reasons,
    container: container.name,
    state: container.state,
    ip,
    image: container.image,
    mounts: container.mounts,
    previewPorts: container.ports,
    skippedMounts: result.skippedMounts,
    egress: egressIn(berth.egress(result.id), isolation),
    isolated: berth.runtime.capabilities.isolation === 'container',
    isolation,
    warnings,
  };
}

/** In host mode's sandbox the proxy is the only way out: the rules are enforced there too. */
export function egressIn(egress: EgressView | null, isolation: UpReport['isolation']): EgressView | null {
  return egress && isolation === 'sandbox' ? { ...egress, enforced: true } : egress;
}
