import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { Berth } from '../berth.js';
import { BerthError } from '../errors.js';
import { createWorkspaceServer, type WorkspaceServerOptions } from './server.js';

/**
 * Whether a workspace may be served to an agent, the same for stdio and the daemon's /mcp: it runs,
 * and something confines it (a container, or host mode's sandbox). Unconfined host mode is refused:
 * an agent's commands there would reach everything the person can.
 */
export async function assertServable(berth: Berth, workspace: string, how: 'stdio' | 'http'): Promise<void> {
  const status = await berth.status(workspace);
  if (status.state !== 'running') {
    throw new BerthError('E_NOT_RUNNING', `Workspace "${workspace}" is ${status.state}.`, { hint: `Start it with \`berth up ${workspace}\`${how === 'stdio' ? ', or pass --up' : ''}, then connect again.` });
  }
  if (status.isolation === 'none') {
    throw new BerthError('E_UNSUPPORTED', `Workspace "${workspace}" runs unconfined on the host: an agent's commands would reach everything you can.`, {
      hint: `Bring it up sandboxed (host mode without --unconfined) or on a container runtime, then ${how === 'stdio' ? 'start `berth mcp` again' : 'connect again'}.`,
    });
  }
}

/** The MCP server of a workspace that may be served; the one way stdio and the daemon make one. */
export async function serveWorkspace(berth: Berth, workspace: string, options: WorkspaceServerOptions & { how: 'stdio' | 'http' }): Promise<McpServer> {
  await assertServable(berth, workspace, options.how);
  return createWorkspaceServer(berth, workspace, options);
}
