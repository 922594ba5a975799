import type { Berth } from '../berth.js';
import type { EnsureResult } from './ensure.js';

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
  egress: ReturnType<Berth['egress']>;
  isolated: boolean;
}

export async function upReport(berth: Berth, result: EnsureResult): Promise<UpReport> {
  const { container } = result;
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
    egress: berth.egress(result.id),
    isolated: berth.runtime.capabilities.isolation,
  };
}
