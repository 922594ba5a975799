import type { Berth } from '../berth.js';
import type { ContainerInfo } from '../runtime/types.js';
import { isOwnedBy } from '../workspace/labels.js';
import type { DeclaredProbe, DeclaredWorkspace } from './manifest.js';
import type { Action } from './plan.js';
import { runProbe, type Probe } from './probes.js';

/**
 * Runs the health probes that are due, for declared workspaces whose container is running and ours
 * and for their running dev servers; keeps each target's health in the store (so it survives a
 * restart of Berth); records a `health.healthy` / `health.unhealthy` event on every transition;
 * returns a `restart` action for every target that is unhealthy now (policy decides what happens).
 */
export async function checkHealth(berth: Berth, declared: readonly DeclaredWorkspace[], containers: ReadonlyMap<string, ContainerInfo>, now: number): Promise<Action[]> {
  const restarts: Action[] = [];
  for (const ws of declared) {
    const container = containers.get(ws.id);
    if (!container || container.state !== 'running' || !isOwnedBy(container.labels, berth.owner)) continue;
    // The host reaches a container at its own address; in host mode, "the container" is this machine.
    const host = container.ip ?? '127.0.0.1';
    const probe = ws.health ? workspaceProbe(ws.health, host) : null;
    if (ws.health && probe && (await probeTarget(berth, ws.id, '', probe, ws.health, container.id, now))) {
      restarts.push({ kind: 'restart', workspace: ws.id, reason: 'unhealthy' });
      // Its dev servers are not judged while the workspace itself is sick: a restart takes them along.
      continue;
    }
    const registry = new Map(berth.store.devServers.devServers(ws.id).map((s) => [s.name, s]));
    for (const server of ws.devServers) {
      const record = registry.get(server.name);
      if (!server.health || record?.state !== 'running') continue;
      const probe = serverProbe(server.health, record.url, host, record.detectedPort ?? record.port);
      if (probe && (await probeTarget(berth, ws.id, server.name, probe, server.health, container.id, now))) {
        restarts.push({ kind: 'restart', workspace: ws.id, name: server.name, reason: 'unhealthy' });
      }
    }
  }
  return restarts;
}

/** A workspace's probe: exec in it, or connect to a port on its address (the manifest rules demand http's port). */
function workspaceProbe(health: DeclaredProbe, host: string): Probe | null {
  const check = health.check;
  if (check.kind === 'exec') return { kind: 'exec', command: check.command };
  if (check.kind === 'tcp') return { kind: 'tcp', host, port: check.port };
  return check.port === undefined ? null : { kind: 'http', host, port: check.port, path: check.path };
}

/** A dev server's http probe GETs its URL (the address the host reaches it at) unless it names a port. */
function serverProbe(health: DeclaredProbe, url: string | null, host: string, serverPort: number | null): Probe | null {
  const check = health.check;
  if (check.kind === 'exec') return { kind: 'exec', command: check.command };
  if (check.kind === 'tcp') return { kind: 'tcp', host, port: check.port };
  if (check.port !== undefined) return { kind: 'http', host, port: check.port, path: check.path };
  if (url !== null) {
    const parsed = new URL(url);
    return { kind: 'http', host: parsed.hostname, port: Number(parsed.port || 80), path: check.path };
  }
  return serverPort === null ? null : { kind: 'http', host, port: serverPort, path: check.path };
}

/** Probes one target if due; true when it is unhealthy (after this probe, or still from an earlier one). */
async function probeTarget(berth: Berth, workspace: string, server: string, probe: Probe, timing: DeclaredProbe, target: string, now: number): Promise<boolean> {
  const record = berth.store.supervision.supervision(workspace, server);
  if (record.lastProbeAt !== null && now - Date.parse(record.lastProbeAt) < timing.intervalMs) return record.health === 'unhealthy';
  const result = await runProbe(probe, timing.timeoutMs, berth.runtime, target);
  const failures = result.ok ? 0 : record.probeFailures + 1;
  const health = result.ok ? 'healthy' : failures >= timing.retries ? 'unhealthy' : record.health;
  berth.store.supervision.putSupervision({ ...record, probeFailures: failures, health, lastProbeAt: new Date(now).toISOString() });
  if (health !== record.health) {
    const what = server ? `Dev server ${workspace}/${server}` : `Workspace ${workspace}`;
    berth.record({
      type: `health.${health}`,
      workspace,
      level: health === 'unhealthy' ? 'warn' : 'info',
      message: `${what} is ${health}: ${probe.kind} probe ${result.ok ? 'passed' : `failed ${String(failures)} time${failures === 1 ? '' : 's'} in a row`} (${result.detail}).`,
      data: { server: server || undefined, probe: probe.kind, detail: result.detail, failures },
    });
  }
  return health === 'unhealthy';
}
