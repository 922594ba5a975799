import type { DevcontainerPort } from '../devcontainer/config.js';
import type { PublishedPort } from '../runtime/types.js';
import { APPLE_DEFAULT_PREVIEW_PORTS, MAX_PREVIEW_PORTS, PREVIEW_CONTAINER_PORT_BASE } from './preview-ports.js';

/**
 * A port a devcontainer.json forwards (forwardPorts, appPort) with its portsAttributes, as recorded
 * with the workspace (`spec.devcontainer.ports`, in the ledger): the CLI and the daemon read the
 * same record, and it outlives either.
 */
export interface ForwardedPort {
  /** The port in the workspace's container (or in `service`'s). */
  port: number;
  label: string | null;
  /** `https`: the server speaks TLS, so its preview URL says https (the bridge passes bytes through). */
  protocol: 'http' | 'https' | null;
  /** `"db:5432"`: another compose service's port, not the workspace container's; null: its own. */
  service: string | null;
  /** What an editor does when it starts listening (`notify`, `openBrowser`, `silent`...): kept for tools, not acted on. */
  onAutoForward: string | null;
}

/**
 * A forwarded port as a preview now: `listening` with the URL the host opens; `not-listening`
 * (nothing listens on it in the workspace yet: no URL, rather than one that fails); `other-service`
 * (a compose service's port: no preview, `note` says why).
 */
export interface ForwardedPortView extends ForwardedPort {
  state: 'listening' | 'not-listening' | 'other-service';
  url: string | null;
  note: string | null;
}

/** The records of a devcontainer.json's ports (forwardPorts before appPort, each once, as read). */
export function forwardedPortsOf(ports: readonly DevcontainerPort[]): ForwardedPort[] {
  return ports.map((p) => ({ port: p.port, label: p.label, protocol: p.protocol, service: p.service, onAutoForward: p.onAutoForward }));
}

/** The ports of the workspace's own container: those a preview slot is kept for. */
export function ownPorts(ports: readonly ForwardedPort[]): ForwardedPort[] {
  return ports.filter((p) => p.service === null);
}

/**
 * How many preview ports a devcontainer's workspace publishes at create (the pool), unless the
 * user set it: one per forwarded port of its own container, which keeps that slot; on Apple, which
 * publishes only at create, its usual pool for dev servers on top.
 */
export function previewPoolFor(ports: readonly ForwardedPort[], runtime: string): number | undefined {
  const own = ownPorts(ports).length;
  if (runtime === 'apple') return Math.min(own + APPLE_DEFAULT_PREVIEW_PORTS, MAX_PREVIEW_PORTS);
  return own > 0 ? Math.min(own, MAX_PREVIEW_PORTS) : undefined;
}

/**
 * Splits the published preview pool: the first slots (41000 and up), in the order the ports were
 * declared, belong to the forwarded ports of the workspace's own container, one each while slots
 * last; dev servers take the rest. Fixed by position, so every process that reads the record
 * (CLI, daemon) bridges a port onto the same slot.
 */
export function splitPool(ports: readonly ForwardedPort[], published: readonly PublishedPort[]): { forwarded: Map<number, PublishedPort>; devServers: PublishedPort[] } {
  const pool = published
    .filter((p) => p.containerPort >= PREVIEW_CONTAINER_PORT_BASE && p.containerPort < PREVIEW_CONTAINER_PORT_BASE + MAX_PREVIEW_PORTS)
    .sort((a, b) => a.containerPort - b.containerPort);
  const forwarded = new Map<number, PublishedPort>();
  ownPorts(ports).forEach((p, i) => {
    const slot = pool[i];
    if (slot) forwarded.set(p.port, slot);
  });
  const kept = new Set(forwarded.values());
  return { forwarded, devServers: published.filter((p) => !kept.has(p)) };
}
