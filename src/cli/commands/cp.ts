import { resolve } from 'node:path';
import { defineCommand } from '../args.js';
import { openBerth } from '../open-berth.js';
import { EXIT, UsageError } from '../output.js';

const USAGE = `Usage: berth cp <id>:<path> <host-path>     copy out of the workspace
       berth cp <host-path> <id>:<path>     copy into the workspace
`;

/** `<id>:<path>`, where id is a workspace id; anything else is a host path. */
const CONTAINER_PATH = /^([a-z0-9][a-z0-9-]{0,62}):(\/.*|[^/].*)$/;

export default defineCommand({
  usage: USAGE,
  options: {},
  async run({ values, positionals }) {
    const [from, to, extra] = positionals;
    if (from === undefined || to === undefined || extra !== undefined) throw new UsageError('cp takes exactly a source and a destination.', USAGE);
    const source = CONTAINER_PATH.exec(from);
    const destination = CONTAINER_PATH.exec(to);
    if (source && destination) throw new UsageError('One side of cp must be a host path.', USAGE);
    const [, id, containerPath] = source ?? destination ?? [];
    if (id === undefined || containerPath === undefined) throw new UsageError('One side of cp must be <id>:<path>.', USAGE);
    const berth = await openBerth(values.runtime, id);
    if (source) await berth.copyOut(id, containerPath, resolve(to));
    else await berth.copyIn(id, resolve(from), containerPath);
    return EXIT.ok;
  },
});
