import { z } from 'zod';
import { RUNTIME_KINDS } from '../runtime/kinds.js';
import { WORKSPACE_USER } from '../workspace/workspace-user.js';

/**
 * The shape of `berth.yaml`, written once: the parser validates with it and `berth schema`
 * publishes it as JSON Schema for editors. Every message says what is wrong and how to fix it;
 * unknown keys are errors (strict objects), so a typo never silently does nothing.
 */

const ID = /^[a-z0-9][a-z0-9-]{0,62}$/;
const NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;
const DURATION = /^\d+(ms|s|m)$/;
const SIZE_MESSAGE = 'must be a size such as 512m or 2g (or a whole number of bytes)';
const SIZE = /^\d+(\.\d+)?\s*([kmgt]i?b?|b)?$/i;

const size = z.union([z.number().int({ error: SIZE_MESSAGE }).positive({ error: SIZE_MESSAGE }), z.string().regex(SIZE, { error: SIZE_MESSAGE })], { error: SIZE_MESSAGE });

const duration = z.string({ error: 'must be a duration such as 500ms, 10s or 2m' }).regex(DURATION, { error: 'must be a duration such as 500ms, 10s or 2m' });

const command = z.union([z.string().min(1, { error: 'must not be empty' }), z.array(z.string({ error: 'list items must be strings: quote numbers, such as "8080"' })).min(1, { error: 'must not be an empty list' })], {
  error: 'must be a command: a list such as [npm, run, dev], or one string run by sh -c',
});

const restartPolicy = z.enum(['no', 'on-failure', 'always'], { error: 'must be one of no, on-failure, always' });

const probe = z
  .strictObject({
    exec: command.optional(),
    http: z.string({ error: 'must be a path such as /health' }).startsWith('/', { error: 'must be a path starting with /, such as /health' }).optional(),
    tcp: z.number({ error: 'must be a port from 1 to 65535' }).int({ error: 'must be a port from 1 to 65535' }).min(1, { error: 'must be a port from 1 to 65535' }).max(65535, { error: 'must be a port from 1 to 65535' }).optional(),
    /** The port an http probe GETs (default: the dev server's own; a workspace's probe must name it). */
    port: z.number({ error: 'must be a port from 1 to 65535' }).int({ error: 'must be a port from 1 to 65535' }).min(1, { error: 'must be a port from 1 to 65535' }).max(65535, { error: 'must be a port from 1 to 65535' }).optional(),
    interval: duration.optional(),
    timeout: duration.optional(),
    retries: z.number({ error: 'must be a whole number from 0 to 100' }).int({ error: 'must be a whole number from 0 to 100' }).min(0, { error: 'must be a whole number from 0 to 100' }).max(100, { error: 'must be a whole number from 0 to 100' }).optional(),
  }, { error: 'must be a map such as { http: /health, interval: 10s }' })
  .refine((p) => [p.exec, p.http, p.tcp].filter((x) => x !== undefined).length === 1, { error: 'needs exactly one of exec, http or tcp' });

/** One dev server; also the body of the daemon's `POST .../dev-servers/{name}`. */
export const devServerSchema = z.strictObject({
  command,
  cwd: z.string({ error: 'must be a folder inside the workspace' }).optional(),
  port: z.number({ error: 'must be a port number' }).int({ error: 'must be a whole port number' }).min(1, { error: 'must be a port from 1 to 65535' }).max(65535, { error: 'must be a port from 1 to 65535' }).optional(),
  env: z.record(z.string(), z.string({ error: 'env values must be strings: quote numbers and booleans' }), { error: 'must be a map of NAME: value' }).optional(),
  health: probe.optional(),
  restart: restartPolicy.optional(),
}, { error: 'must be a map such as { command: [npm, run, dev] }' });

const mount = z.union([
  z.string({ error: 'must be a path, optionally ending in :ro' }).min(1),
  z.strictObject({ source: z.string({ error: 'must be a path' }).min(1, { error: 'must not be empty' }), readOnly: z.boolean({ error: 'must be true or false' }).optional() }),
], { error: 'must be a path (optionally ending in :ro) or { source, readOnly }' });

/**
 * `sandbox` says what contains a workspace, in two families under one key (berth.yaml had
 * `vm | shared-kernel` before host mode had a sandbox of its own):
 * - `auto | on | off`: host mode's sandbox (bubblewrap). auto: where this machine can, else `up`
 *   refuses and says how to fix it; on: sandboxed or refused; off: unconfined, reported loudly.
 *   A container runtime always confines, so these change nothing there.
 * - `vm | shared-kernel`: which kind of container runtime (Apple's VM per container, or docker/podman).
 */
export const SANDBOX_SWITCH = ['auto', 'on', 'off'] as const;
export const SANDBOX_KINDS = ['vm', 'shared-kernel'] as const;
export const SANDBOX_SWITCH_MESSAGE = "must be auto, on or off (host mode's bubblewrap sandbox; off runs it unconfined)";
const SANDBOX_MESSAGE = `${SANDBOX_SWITCH_MESSAGE}, or vm or shared-kernel (which kind of container runtime)`;

export function isSandboxKind(value: string | undefined): value is (typeof SANDBOX_KINDS)[number] {
  return (SANDBOX_KINDS as readonly (string | undefined)[]).includes(value);
}

const USER_MESSAGE = 'must be host, a uid[:gid] such as "1000:1000", or a name[:group]';

/** One workspace's settings; the daemon's `POST /workspaces/{id}/up` takes a subset of them. */
export const workspaceSettingsSchema = z.strictObject({
  root: z.string({ error: 'must be a folder (relative to this file, or absolute)' }).optional(),
  image: z.string({ error: 'must be an image reference such as node:22' }).min(1).optional(),
  runtime: z.enum(RUNTIME_KINDS, { error: `must be one of ${RUNTIME_KINDS.join(', ')} (or use sandbox: vm | shared-kernel)` }).optional(),
  sandbox: z.enum([...SANDBOX_SWITCH, ...SANDBOX_KINDS], { error: SANDBOX_MESSAGE }).optional(),
  mounts: z.array(mount, { error: 'must be a list of mounts' }).optional(),
  env: z.record(z.string(), z.string({ error: 'env values must be strings: quote numbers and booleans' }), { error: 'must be a map of NAME: value' }).optional(),
  cpus: z.number({ error: 'must be a number of CPUs, such as 2' }).positive({ error: 'must be more than 0' }).optional(),
  memory: size.optional(),
  previewPorts: z.number({ error: 'must be a whole number from 0 to 64' }).int({ error: 'must be a whole number from 0 to 64' }).min(0, { error: 'must be a whole number from 0 to 64' }).max(64, { error: 'must be a whole number from 0 to 64' }).optional(),
  user: z.string({ error: USER_MESSAGE }).regex(WORKSPACE_USER, { error: USER_MESSAGE }).optional().describe('Who the workspace runs as: host (you: the files it writes are yours), uid[:gid] or name[:group]; default the image\'s user.'),
  egress: z
    .strictObject({
      allow: z.array(z.string({ error: 'patterns must be strings, such as registry.npmjs.org' }), { error: 'must be a list of patterns' }).optional(),
      deny: z.array(z.string({ error: 'patterns must be strings, such as registry.npmjs.org' }), { error: 'must be a list of patterns' }).optional(),
    }, { error: 'must be a map with allow and/or deny lists' })
    .optional(),
  restart: restartPolicy.optional(),
  health: probe.optional(),
  devServers: z.record(z.string().regex(NAME, { error: 'dev server names are lower-case letters, digits, ".", "_" or "-"' }), devServerSchema, { error: 'must be a map of name: { command: ... }' }).optional(),
}, { error: 'must be a map of settings (use {} for the defaults)' });

const DEVCONTAINER_MESSAGE = "must be true (the root's .devcontainer/devcontainer.json) or the path of a devcontainer.json (relative to this file)";

/**
 * A manifest workspace has the daemon's settings plus what only a file can say: that it comes up
 * from a devcontainer.json (README "devcontainer.json", "In berth.yaml"), whether its initializeCommand
 * may run on this machine, and whether it may have privileges that reach past the container.
 */
const manifestWorkspaceSchema = workspaceSettingsSchema.extend({
  devcontainer: z
    .union([z.boolean({ error: DEVCONTAINER_MESSAGE }), z.string({ error: DEVCONTAINER_MESSAGE }).min(1, { error: DEVCONTAINER_MESSAGE })], { error: DEVCONTAINER_MESSAGE })
    .optional()
    .describe("Bring the workspace up from a devcontainer.json, as berth up --devcontainer does: true finds it in root (.devcontainer/devcontainer.json, .devcontainer.json, .devcontainer/<name>/devcontainer.json); a path is relative to this file."),
  runInitializeCommand: z
    .boolean({ error: 'must be true or false' })
    .optional()
    .describe("Let the devcontainer.json's initializeCommand run on this machine, outside any container (default: a config with one is refused)."),
  allowPrivileged: z
    .boolean({ error: 'must be true or false' })
    .optional()
    .describe('Grant what the devcontainer.json (or a feature) asks for that reaches past the container: privileged, devices, capabilities beyond the default set, security options (as berth up --devcontainer --allow-privileged; default: refused; never with egress).'),
});

const workspace = manifestWorkspaceSchema
  // runtime: host with sandbox: on is one choice; runtime: docker with sandbox: vm is two.
  .refine((w) => !(w.runtime !== undefined && isSandboxKind(w.sandbox)), { error: 'give runtime or sandbox: vm | shared-kernel, not both', path: ['sandbox'] });

export const manifestSchema = z.strictObject({
  version: z.literal(1, { error: 'must be the number 1, unquoted (the only manifest version so far)' }),
  /** Guardrails: plan refuses a manifest whose declared memory exceeds this (BERTH_MEMORY_BUDGET wins). */
  budget: z.strictObject({ memory: size.optional() }, { error: 'must be a map such as { memory: 16g }' }).optional(),
  workspaces: z.record(z.string().regex(ID, { error: 'workspace ids are 1-63 lower-case letters, digits or "-", starting with a letter or digit' }), workspace, {
    error: 'must be a map of workspace id: settings',
  }),
}, { error: 'the file must be a map with version and workspaces' });

export type Manifest = z.infer<typeof manifestSchema>;
export type ManifestWorkspace = Manifest['workspaces'][string];
export type ManifestDevServer = NonNullable<ManifestWorkspace['devServers']>[string];

/** The JSON Schema editors validate `berth.yaml` with, generated from the schema above. */
export function manifestJsonSchema(): Record<string, unknown> {
  return {
    $id: 'berth.yaml.schema.json',
    title: 'Berth manifest (berth.yaml)',
    ...z.toJSONSchema(manifestSchema, { unrepresentable: 'any' }),
  };
}
