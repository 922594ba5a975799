import { defineCommand, parseEnvPairs, requirePositional } from '../args.js';
import { openBerth } from '../open-berth.js';
import { EXIT, printJson, UsageError } from '../output.js';

const USAGE = `Usage: berth up <id> [--root DIR] [--image REF] [--mount SRC[:ro]]... [--env K=V]...
                [--cpus N] [--memory SIZE] [--preview-ports N] [--allow-sensitive-mount] [--runtime R] [--json]
`;

export default defineCommand({
  usage: USAGE,
  options: {
    root: { type: 'string' },
    image: { type: 'string' },
    mount: { type: 'string', multiple: true },
    env: { type: 'string', multiple: true },
    cpus: { type: 'string' },
    memory: { type: 'string' },
    'allow-sensitive-mount': { type: 'boolean' },
    'preview-ports': { type: 'string' },
  },
  async run({ values, positionals }) {
    const id = requirePositional(positionals, 0, 'id', USAGE);
    const cpus = values.cpus === undefined ? undefined : Number(values.cpus);
    if (cpus !== undefined && Number.isNaN(cpus)) throw new UsageError(`--cpus takes a number, got ${JSON.stringify(values.cpus)}.`, USAGE);
    const previewPorts = values['preview-ports'] === undefined ? undefined : Number(values['preview-ports']);
    if (previewPorts !== undefined && Number.isNaN(previewPorts)) throw new UsageError(`--preview-ports takes a number, got ${JSON.stringify(values['preview-ports'])}.`, USAGE);
    const berth = await openBerth(values.runtime, id);
    const warnings: string[] = [];
    berth.on('event', (event) => {
      if (event.level === 'warn') warnings.push(event.message);
    });
    const result = await berth.up(id, {
      root: values.root,
      image: values.image,
      mounts: values.mount,
      env: parseEnvPairs(values.env, USAGE),
      cpus,
      memory: values.memory,
      allowSensitiveMounts: values['allow-sensitive-mount'],
      previewPorts,
    });
    const isolated = berth.runtime.capabilities.isolation;
    // ensure() does not re-inspect after a start; a person at a terminal wants the address, so ask.
    const ip = result.container.ip ?? (berth.runtime.capabilities.containerIp ? (await berth.status(id)).ip : null);
    if (values.json) {
      const { container } = result;
      printJson({
        id: result.id,
        runtime: result.runtime,
        action: result.action,
        reasons: result.reasons,
        container: container.name,
        state: container.state,
        ip,
        image: container.image,
        mounts: container.mounts,
        previewPorts: container.ports,
        skippedMounts: result.skippedMounts,
        isolated,
      });
      return EXIT.ok;
    }
    const where = ip ? `, ${ip}` : '';
    process.stdout.write(`workspace ${result.id} ${result.action} on ${result.runtime} (${result.container.name}${where})\n`);
    for (const reason of result.reasons) process.stdout.write(`  because ${reason}\n`);
    for (const warning of warnings) process.stderr.write(`warning: ${warning}\n`);
    if (!isolated) process.stderr.write('note: host mode: commands run on this machine without isolation.\n');
    return EXIT.ok;
  },
});
