import { resolve } from 'node:path';
import type { BerthClient, Health } from '../client/index.js';
import { isBerthError } from '../errors.js';
import { normalizeMount, type WorkspaceSpecInput } from '../workspace/spec.js';
import type { CliCore, EventSource } from './core.js';

/**
 * The core commands through the running daemon. The daemon does not know this shell's folder, so
 * paths are made absolute here, against it, exactly as the in-process path would read them.
 */
export function daemonCore(client: BerthClient, health: Health): CliCore {
  return {
    via: 'daemon',
    runtime: health.runtime,
    isolated: health.runtime !== 'host',
    list: () => client.listWorkspaces(),
    async status(id) {
      // The same fields as in-process (the API adds isolated and egress, which status prints apart).
      const { runtime, state, container, image, ip, root, isolation } = await client.getWorkspace(id);
      return { id, runtime, state, container, image, ip, root, isolation };
    },
    async up(id, spec) {
      if (spec !== undefined) return client.up(id, absolute(spec));
      // As last declared; a workspace the daemon has never seen comes up in this folder, as in-process.
      return client.up(id).catch((error: unknown) => {
        if (isBerthError(error, 'E_INVALID_INPUT') && error.details?.['recorded'] === false) return client.up(id, { root: process.cwd() });
        throw error;
      });
    },
    stop: async (id) => void (await client.stop(id)),
    remove: async (id) => void (await client.remove(id)),
    egress: (id) => client.egress(id),
    changeEgress: (id, change) => client.changeEgress(id, change),
    devStart: (workspace, name, options, wait) => client.startDevServer(workspace, name, { command: options.command, cwd: options.cwd, env: options.env, port: options.port }, { wait }),
    devRestart: (workspace, name) => client.restartDevServer(workspace, name, { wait: true }),
    devStop: (workspace, name) => client.stopDevServer(workspace, name),
    devList: (workspace) => client.listDevServers({ workspace, scan: true }),
  };
}

/** The event log through the daemon: the live part as its SSE stream. */
export function daemonEvents(client: BerthClient): EventSource {
  return {
    events: (query) => client.events({ after: query.afterSeq, since: query.since, workspace: query.workspace, type: query.type, limit: query.limit }),
    follow: (query, afterSeq, signal) => client.streamEvents({ after: afterSeq, since: query.since, workspace: query.workspace, type: query.type }, signal),
  };
}

function absolute(spec: WorkspaceSpecInput): WorkspaceSpecInput {
  const cwd = process.cwd();
  return { ...spec, root: resolve(cwd, spec.root ?? '.'), mounts: spec.mounts?.map((m) => normalizeMount(m, cwd)) };
}
