import { defineCommand } from '../args.js';
import { EXIT, printJson } from '../output.js';

/** Prints the JSON Schema of berth.yaml, generated from the same schema the parser uses. */
export default defineCommand({
  usage: 'Usage: berth schema   (prints the JSON Schema of berth.yaml)\n',
  options: {},
  async run() {
    const { manifestJsonSchema } = await import('../../orchestrator/manifest-schema.js');
    printJson(manifestJsonSchema());
    return EXIT.ok;
  },
});
