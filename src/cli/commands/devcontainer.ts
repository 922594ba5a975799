import type { DevcontainerRead } from '../../devcontainer/read.js';
import { defineCommand } from '../args.js';
import { EXIT, printJson, UsageError } from '../output.js';

const USAGE = `Usage: berth devcontainer read --workspace-folder DIR [--config PATH] [--json]
  Reads the folder's devcontainer.json (.devcontainer/devcontainer.json, .devcontainer.json, or the one
  .devcontainer/<name>/devcontainer.json) and prints the configuration Berth would bring up: JSONC parsed,
  variables substituted, legacy keys folded in, defaults filled. Nothing is built or started.
  Keys Berth ignores are warnings; what it would not run as written is an error (exit 1), each with file:line:column.
`;

export default defineCommand({
  usage: USAGE,
  options: { 'workspace-folder': { type: 'string' }, config: { type: 'string' } },
  async run({ values, positionals }) {
    const [sub] = positionals;
    if (sub !== 'read') throw new UsageError(sub === undefined ? 'Missing the devcontainer subcommand.' : `Unknown devcontainer subcommand "${sub}".`, USAGE);
    const { readDevcontainer } = await import('../../devcontainer/read.js');
    const { devcontainerError, formatProblem } = await import('../../devcontainer/problems.js');
    const read = readDevcontainer({ workspaceFolder: values['workspace-folder'] ?? process.cwd(), config: values.config });
    for (const warning of read.warnings) process.stderr.write(`warning: ${formatProblem(warning)}\n`);
    if (read.errors.length > 0) {
      // With --json one document still: what was read, and (errors) why up would refuse it.
      if (!values.json) throw devcontainerError(read.file, read.errors);
      printJson(output(read));
      return EXIT.user;
    }
    printJson(output(read));
    return EXIT.ok;
  },
});

function output(read: DevcontainerRead): Record<string, unknown> {
  return { file: read.file, localWorkspaceFolder: read.localWorkspaceFolder, devcontainerId: read.devcontainerId, config: read.config, warnings: read.warnings, errors: read.errors };
}
