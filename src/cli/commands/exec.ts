import { defineCommand, parseEnvPairs, requirePositional } from '../args.js';
import { openBerth } from '../open-berth.js';
import { UsageError } from '../output.js';

const USAGE = 'Usage: berth exec <id> [--env K=V]... [--workdir DIR] [--user U] -- CMD [ARG...]\n';

/** Runs a command attached to this terminal; berth exits with the command's exit code. */
export default defineCommand({
  usage: USAGE,
  options: { env: { type: 'string', multiple: true }, workdir: { type: 'string' }, user: { type: 'string' } },
  async run({ values, positionals }, command) {
    const id = requirePositional(positionals, 0, 'id', USAGE);
    if (command.length === 0) throw new UsageError('Missing the command to run after --.', USAGE);
    const options = { env: parseEnvPairs(values.env, USAGE), workdir: values.workdir, user: values.user };
    const fast = await execByAddressCard(id, values.runtime, command, options);
    if (fast !== undefined) return fast;
    const berth = await openBerth(values.runtime, id);
    return berth.execInteractive(id, command, options);
  },
});

/**
 * The hot path agents hit hundreds of times: when Berth created the container, its address card
 * says where it is, so neither SQLite nor the library is loaded. Any explicit runtime choice that
 * disagrees with the card takes the full path instead.
 */
async function execByAddressCard(
  id: string,
  flag: string | undefined,
  command: string[],
  options: { env: Record<string, string>; workdir: string | undefined; user: string | undefined },
): Promise<number | undefined> {
  const [{ appleAutostart, berthHome, loadConfig }, { readAddressCard }, { validateWorkspaceId }] = await Promise.all([
    import('../../config.js'),
    import('../../workspace/address-card.js'),
    import('../../workspace/workspace-id.js'),
  ]);
  validateWorkspaceId(id);
  const home = berthHome();
  const card = readAddressCard(home, id);
  if (!card) return undefined;
  const config = loadConfig(home);
  const explicit = [flag, process.env['BERTH_RUNTIME'], config.runtime].find((choice) => choice !== undefined && choice !== '');
  if (explicit !== undefined && explicit !== 'auto' && explicit !== card.runtime) return undefined;
  const [{ createRuntime }, { execInWorkspace }] = await Promise.all([import('../../runtime/select.js'), import('../../workspace/exec.js')]);
  const runtime = await createRuntime(card.runtime, { home, startSystem: appleAutostart(process.env, config) });
  return execInWorkspace(runtime, id, card.container, [...(card.fence ?? []), ...command], options);
}
