import { readFileSync } from 'node:fs';
import { defineCommand } from '../args.js';
import { openBerth, openCore } from '../open-berth.js';
import { EXIT, UsageError } from '../output.js';

const USAGE = `Usage: berth mcp --workspace <id> [--up] [--runtime R]
Serves the Model Context Protocol over stdio for one workspace: a coding agent (Claude Code, Codex,
Cursor) runs commands, edits files and starts dev servers inside it, and may ask for egress (a person
approves in their client when it can ask them, or with \`berth egress approve\`). --up brings the workspace up as last declared first
(one last brought up from a devcontainer.json comes up from that file again, hooks and all).
See docs/mcp.md.
`;

export default defineCommand({
  usage: USAGE,
  options: { workspace: { type: 'string', short: 'w' }, up: { type: 'boolean' } },
  async run({ values }) {
    const id = values.workspace;
    if (id === undefined) throw new UsageError('berth mcp needs --workspace <id>: a server serves exactly one workspace.', USAGE);
    const berth = await openBerth(values.runtime, id);
    if (values.up) {
      // Last brought up from a devcontainer.json: from it again, as `berth up --devcontainer` does
      // (build, features, compose, hooks), in this process; stdout is the protocol's, so output goes to stderr.
      const fromDevcontainer = berth.devcontainerUpOf(id);
      if (fromDevcontainer) {
        const hooks = (await import('../hook-progress.js')).hookPrinter();
        try {
          await berth.upDevcontainer(id, { ...fromDevcontainer, onBuildOutput: (chunk) => process.stderr.write(chunk), onHook: hooks.onHook, onHookProgress: hooks.onProgress });
        } finally {
          hooks.end();
        }
      } else {
        // The CLI's own `up` path: through the daemon when one serves, which then serves its egress too.
        const core = await openCore(values.runtime, id);
        const report = await core.api.up(id, undefined);
        if (report.egress && core.api.via === 'in-process') await (await import('../on-demand.js')).serveEgressChange(id, report.runtime, 'up');
      }
    }
    const [{ serveWorkspace }, { StdioServerTransport }] = await Promise.all([import('../../mcp/servable.js'), import('@modelcontextprotocol/sdk/server/stdio.js')]);
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    const server = await serveWorkspace(berth, id, {
      version: pkg.version,
      how: 'stdio',
      // A person's yes in their client opens the target as `berth egress approve` does: through the daemon when one serves the proxy.
      allowEgress: async (target) => {
        const core = await openCore(values.runtime, id);
        await core.api.changeEgress(id, { allow: target });
        if (core.api.via === 'in-process') await (await import('../on-demand.js')).serveEgressChange(id, core.runtime, 'change');
      },
    });
    const transport = new StdioServerTransport();
    const closed = new Promise<void>((resolve) => {
      transport.onclose = resolve;
      process.stdin.once('end', resolve);
      process.once('SIGTERM', resolve);
      process.once('SIGINT', resolve);
    });
    await server.connect(transport);
    await closed;
    await server.close().catch(() => undefined);
    await berth.close();
    return EXIT.ok;
  },
});
