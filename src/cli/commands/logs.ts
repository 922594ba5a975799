import { defineCommand, requirePositional } from '../args.js';
import { openBerth } from '../open-berth.js';
import { EXIT, UsageError } from '../output.js';

const USAGE = 'Usage: berth logs <id> [--follow] [--tail N]\n';

/** The output of the workspace's main process (its container log). */
export default defineCommand({
  usage: USAGE,
  options: { follow: { type: 'boolean', short: 'f' }, tail: { type: 'string' } },
  async run({ values, positionals }) {
    const id = requirePositional(positionals, 0, 'id', USAGE);
    const tail = values.tail === undefined ? undefined : Number(values.tail);
    if (tail !== undefined && !(Number.isInteger(tail) && tail >= 0)) throw new UsageError(`--tail takes a whole number, got ${JSON.stringify(values.tail)}.`, USAGE);
    const berth = await openBerth(values.runtime, id);
    const controller = new AbortController();
    process.once('SIGINT', () => controller.abort());
    await berth
      .logs(id, {
        follow: values.follow,
        tail,
        signal: controller.signal,
        onStdout: (chunk) => process.stdout.write(chunk),
        onStderr: (chunk) => process.stderr.write(chunk),
      })
      .catch((error: unknown) => {
        if (!controller.signal.aborted) throw error;
      });
    return EXIT.ok;
  },
});
