import { BerthError } from '../../errors.js';
import { DEFAULT_IMAGE } from '../../workspace/spec.js';
import { workspaceImageDir } from '../../workspace/image-source.js';
import { defineCommand } from '../args.js';
import { openBerth } from '../open-berth.js';
import { EXIT, printJson, UsageError } from '../output.js';

const USAGE = `Usage: berth image build [--tag NAME] [--runtime R] [--json]
  Builds Berth's default workspace image (${DEFAULT_IMAGE}) from the images/workspace folder
  shipped with Berth, on the chosen runtime. The engine pulls its base image (node:24-bookworm-slim).
`;

/** Half an hour: a cold build downloads a base image and apt packages. */
const BUILD_TIMEOUT_MS = 30 * 60_000;

export default defineCommand({
  usage: USAGE,
  options: { tag: { type: 'string', short: 't' } },
  async run({ values, positionals }) {
    const [sub] = positionals;
    if (sub !== 'build') throw new UsageError(sub === undefined ? 'Missing the image subcommand.' : `Unknown image subcommand "${sub}".`, USAGE);
    const berth = await openBerth(values.runtime);
    try {
      const { runtime } = berth;
      if (!runtime.capabilities.images) {
        throw new BerthError('E_UNSUPPORTED', `The ${runtime.kind} runtime has no images: host workspaces run on the machine itself.`, {
          hint: 'Choose a container runtime with --runtime docker|podman|apple.',
        });
      }
      const tag = values.tag ?? DEFAULT_IMAGE;
      const contextDir = workspaceImageDir();
      // Progress goes to stderr so --json output stays one document on stdout.
      const image = await runtime.buildImage({ contextDir, tag, timeoutMs: BUILD_TIMEOUT_MS, onOutput: (chunk) => process.stderr.write(chunk) });
      if (values.json) printJson({ runtime: runtime.kind, tag, contextDir, id: image.id });
      else process.stdout.write(`Built ${tag} on ${runtime.kind} from ${contextDir} (${image.id.slice(0, 12)}).\n`);
      return EXIT.ok;
    } finally {
      await berth.close();
    }
  },
});
