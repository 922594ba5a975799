import { defineCommand, parseEnvPairs, requirePositional } from '../args.js';
import { portlessAllowWarnings } from '../egress-rules.js';
import { openBerth, openCore } from '../open-berth.js';
import { EXIT, printJson, UsageError } from '../output.js';
import { hookPrinter } from '../hook-progress.js';
import type { ForwardedPortView } from '../../workspace/forwarded-ports.js';

const USAGE = `Usage: berth up <id> [--root DIR] [--image REF] [--mount SRC[:ro]]... [--env K=V]...
                [--cpus N] [--memory SIZE] [--preview-ports N] [--user host|UID[:GID]|NAME] [--unconfined]
                [--allow PATTERN]... [--deny PATTERN]...
                [--allow-sensitive-mount] [--runtime R] [--json]
       berth up <id> --root DIR --devcontainer [--config PATH] [--run-initialize-command] [--allow-privileged] [--cpus N] [--memory SIZE] [--json]
Without any of these options an existing workspace comes up as it was last declared.
--devcontainer brings it up from DIR's devcontainer.json (image or Dockerfile build, env, mounts,
workspaceFolder, lifecycle hooks; an edited config or Dockerfile recreates it). Hook output goes to stderr.
--user host runs the workspace as you, so the files it writes in DIR are yours (docs/embedding.md).
A config with initializeCommand is refused unless --run-initialize-command: it runs on this machine,
outside any container. postAttachCommand runs when a shell attaches (berth shell), not at up.
A config (or feature) that asks for privileged, a device, a capability such as SYS_ADMIN or SYS_PTRACE,
or a security option other than no-new-privileges is refused unless --allow-privileged (docs/security.md).
`;

/** The options that declare the workspace; `berth up <id>` without any of them reuses the recorded spec. */
const SPEC_OPTIONS = ['root', 'image', 'mount', 'env', 'cpus', 'memory', 'allow-sensitive-mount', 'preview-ports', 'allow', 'deny', 'unconfined', 'user'] as const;

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
    unconfined: { type: 'boolean' },
    'preview-ports': { type: 'string' },
    user: { type: 'string' },
    allow: { type: 'string', multiple: true },
    deny: { type: 'string', multiple: true },
    devcontainer: { type: 'boolean' },
    config: { type: 'string' },
    'run-initialize-command': { type: 'boolean' },
    'allow-privileged': { type: 'boolean' },
  },
  async run({ values, positionals }) {
    const id = requirePositional(positionals, 0, 'id', USAGE);
    const cpus = values.cpus === undefined ? undefined : Number(values.cpus);
    if (cpus !== undefined && Number.isNaN(cpus)) throw new UsageError(`--cpus takes a number, got ${JSON.stringify(values.cpus)}.`, USAGE);
    const previewPorts = values['preview-ports'] === undefined ? undefined : Number(values['preview-ports']);
    if (previewPorts !== undefined && Number.isNaN(previewPorts)) throw new UsageError(`--preview-ports takes a number, got ${JSON.stringify(values['preview-ports'])}.`, USAGE);
    if (values.devcontainer) return upDevcontainer(id, values, cpus, previewPorts);
    if (values.config !== undefined) throw new UsageError('--config goes with --devcontainer.', USAGE);
    if (values['run-initialize-command'] !== undefined) throw new UsageError('--run-initialize-command goes with --devcontainer.', USAGE);
    if (values['allow-privileged'] !== undefined) throw new UsageError('--allow-privileged goes with --devcontainer.', USAGE);
    const core = await openCore(values.runtime, id);
    const declared = SPEC_OPTIONS.some((option) => values[option] !== undefined);
    const egress = values.allow !== undefined || values.deny !== undefined ? { allow: values.allow, deny: values.deny } : undefined;
    for (const warning of portlessAllowWarnings(values.allow)) process.stderr.write(`warning: ${warning}\n`);
    const report = await core.api.up(
      id,
      declared
        ? {
            root: values.root,
            image: values.image,
            mounts: values.mount,
            env: parseEnvPairs(values.env, USAGE),
            cpus,
            memory: values.memory,
            allowSensitiveMounts: values['allow-sensitive-mount'],
            previewPorts,
            egress,
            sandbox: values.unconfined ? 'off' : undefined,
            user: values.user,
          }
        : undefined,
    );
    // Through the daemon, up returned once its proxy listens; made here, the daemon must serve it first.
    if (report.egress && core.api.via === 'in-process') {
      const { serveEgressChange } = await import('../on-demand.js');
      await serveEgressChange(id, report.runtime, 'up');
    }
    if (values.json) {
      printJson(report);
      return EXIT.ok;
    }
    const where = report.ip ? `, ${report.ip}` : '';
    process.stdout.write(`workspace ${report.id} ${report.action} on ${report.runtime} (${report.container}${where})\n`);
    for (const reason of report.reasons) process.stdout.write(`  because ${reason}\n`);
    for (const warning of report.warnings) process.stderr.write(`warning: ${warning}\n`);
    if (report.isolation === 'none') process.stderr.write('WARNING: host mode UNCONFINED: commands run on this machine without isolation.\n');
    if (report.isolation === 'sandbox') {
      const network = report.egress ? 'no network but the egress proxy' : 'its network NOT controlled (no egress rules: --allow host[:port] confines it to the proxy)';
      process.stderr.write(`note: host mode, sandboxed (bubblewrap): the system read-only, the home empty, ${network}.\n`);
    }
    if (report.egress && !report.egress.enforced) process.stderr.write('note: egress rules are NOT enforced in host mode: only the proxy variables are set.\n');
    return EXIT.ok;
  },
});

/**
 * `up --devcontainer` runs in this process (Berth's own, not through the daemon): it reads files
 * under the caller's folder, may build an image, and streams the hooks' output here.
 */
async function upDevcontainer(
  id: string,
  values: { root?: string | undefined; config?: string | undefined; 'run-initialize-command'?: boolean | undefined; 'allow-privileged'?: boolean | undefined; runtime?: string | undefined; json?: boolean | undefined; memory?: string | undefined; image?: string | undefined },
  cpus: number | undefined,
  previewPorts: number | undefined,
): Promise<number> {
  if (values.image !== undefined) throw new UsageError('--image does not go with --devcontainer: the devcontainer.json names the image.', USAGE);
  const berth = await openBerth(values.runtime, id);
  const hooks = hookPrinter();
  try {
    const result = await berth.upDevcontainer(id, {
      root: values.root ?? process.cwd(),
      config: values.config,
      runInitializeCommand: values['run-initialize-command'],
      allowPrivileged: values['allow-privileged'],
      base: { cpus, memory: values.memory, previewPorts },
      onBuildOutput: (chunk) => process.stderr.write(chunk),
      onHook: hooks.onHook,
      onHookProgress: hooks.onProgress,
    });
    hooks.end();
    if (values.json) {
      printJson({ id: result.id, runtime: result.runtime, action: result.action, reasons: result.reasons, container: result.container.id, devcontainer: result.devcontainer });
      return EXIT.ok;
    }
    process.stdout.write(`workspace ${result.id} ${result.action} on ${result.runtime} from ${result.devcontainer.file}\n`);
    for (const reason of result.reasons) process.stdout.write(`  because ${reason}\n`);
    if (result.devcontainer.hooks.length > 0) process.stdout.write(`  hooks run: ${result.devcontainer.hooks.join(', ')}\n`);
    for (const port of result.devcontainer.ports) process.stdout.write(`  ${forwardedLine(port)}\n`);
    for (const granted of result.devcontainer.granted) process.stderr.write(`warning: granted (--allow-privileged): ${granted}: a process in the workspace can reach past its container\n`);
    for (const warning of result.devcontainer.warnings) process.stderr.write(`warning: ${warning}\n`);
    for (const note of result.devcontainer.notes) process.stderr.write(`note: ${note}\n`);
    return EXIT.ok;
  } finally {
    hooks.end();
    await berth.close();
  }
}

/** `3000 (Frontend)`, `db:5432`: a forwarded port as its devcontainer.json names it. */
export function forwardedName(port: ForwardedPortView): string {
  return `${port.service === null ? '' : `${port.service}:`}${String(port.port)}${port.label === null ? '' : ` (${port.label})`}`;
}

/** `port 3000 (Frontend): http://127.0.0.1:49152/`, or why there is no URL (yet). */
export function forwardedLine(port: ForwardedPortView): string {
  const name = `port ${forwardedName(port)}`;
  if (port.url !== null) return `${name}: ${port.url}`;
  if (port.state === 'not-listening') return `${name}: not listening yet${port.note === null ? '' : ` (${port.note})`}`;
  return `${name}: ${port.note ?? port.state}`;
}

