import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { devServerSchema, SANDBOX_SWITCH, SANDBOX_SWITCH_MESSAGE, workspaceSettingsSchema } from '../../orchestrator/manifest-schema.js';

/**
 * Request bodies, built from the manifest's own schemas (the same messages as `berth.yaml` and the
 * CLI), then handed to the same normalizers (normalizeSpec, validatePolicy, the dev-server checks).
 * Paths must be absolute: the daemon's working folder is not the caller's.
 */
const absolute = (what: string): z.ZodString => z.string({ error: `must be an absolute path (${what})` }).refine(isAbsolute, { error: `must be an absolute path: the daemon does not know your working folder (${what})` });

const mountPath = z.string().refine((m) => isAbsolute(m.replace(/:(ro|rw)$/, '')), { error: 'must be an absolute path, optionally ending in :ro' });

export const upBody = workspaceSettingsSchema
  .pick({ image: true, env: true, cpus: true, memory: true, previewPorts: true, egress: true })
  .extend({
    // Host mode's switch only: which runtime is `runtime`'s to say (vm/shared-kernel are berth.yaml's).
    sandbox: z.enum(SANDBOX_SWITCH, { error: SANDBOX_SWITCH_MESSAGE }).optional(),
    runtime: workspaceSettingsSchema.shape.runtime.describe("Where a new workspace lives (default: the daemon's default runtime); an existing one stays where it is."),
    root: absolute('the folder mounted at /workspace').optional(),
    mounts: z.array(z.union([mountPath, z.strictObject({ source: absolute('the mount source'), readOnly: z.boolean().optional() })]), { error: 'must be a list of mounts' }).optional(),
    allowSensitiveMounts: z.boolean({ error: 'must be true or false' }).optional(),
    egress: workspaceSettingsSchema.shape.egress.unwrap().nullable().optional().describe('Egress rules; null turns egress control off.'),
    labels: z.record(z.string(), z.string(), { error: 'must be an object of strings' }).optional().describe('App metadata, filterable in GET /workspaces?label=k=v.'),
    user: workspaceSettingsSchema.shape.user.unwrap().nullable().optional().describe('Who the workspace runs as (host, uid[:gid], name[:group]); null: the image\'s user again.'),
  })
  .describe('The workspace spec, as `berth up` flags say it. Of an existing workspace it is a patch: fields left out keep what was last declared; an empty body brings it up as last declared.');

export const devStartBody = devServerSchema
  .pick({ command: true, cwd: true, port: true, env: true })
  .extend({ wait: z.boolean({ error: 'must be true or false' }).optional().describe('Answer once the server listens (or ends), as `berth dev start` does.') })
  .describe('A dev server: a command list, or one string run by sh -c.');

export const egressChangeBody = z
  .union([z.strictObject({ allow: z.string() }), z.strictObject({ deny: z.string() }), z.strictObject({ revoke: z.string() })], {
    error: 'must be exactly one of { allow: PATTERN }, { deny: PATTERN }, { revoke: PATTERN }',
  })
  .describe('One rule change; it applies on the next connection.');

export const planBody = z.strictObject({ file: absolute('the berth.yaml to plan') }).describe('The manifest to plan against this daemon\'s runtime.');

export const applyBody = z
  .strictObject({
    file: absolute('the berth.yaml to apply'),
    planHash: z.string().optional().describe('Refuse unless the plan is still this one (from POST /plan).'),
    yes: z.boolean().optional().describe('Apply whatever the plan is now.'),
    concurrency: z.number({ error: 'must be a whole number from 1 to 64' }).int({ error: 'must be a whole number from 1 to 64' }).min(1, { error: 'must be a whole number from 1 to 64' }).max(64, { error: 'must be a whole number from 1 to 64' }).optional().describe('Workspaces worked on at once (1: one action at a time, in plan order); default from the cores and the memory budget.'),
  })
  .refine((b) => b.planHash !== undefined || b.yes === true, { error: 'needs planHash (from POST /plan) or yes: true' });

export const execBody = z
  .strictObject({
    argv: z.array(z.string(), { error: 'must be a list of strings (the command and its arguments)' }).min(1, { error: 'must name a command' }),
    cwd: z.string().optional(),
    env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'env names are letters, digits and _' }), z.string()).optional(),
    user: z.string().optional(),
    timeoutMs: z.number().int().positive().optional().describe('End the command (inside the workspace) after this long; answers 504 E_TIMEOUT.'),
    stdin: z.string().optional().describe('Bytes for stdin, base64; stdin is closed after them.'),
    encoding: z.enum(['utf8', 'base64']).optional().describe('How stdout and stderr come back: utf8 (default) or base64 for bytes.'),
  })
  .describe('A command to run in the workspace, as berth exec runs it.');

export type ExecBody = z.infer<typeof execBody>;

export const spawnBody = z
  .strictObject({
    argv: z.array(z.string(), { error: 'must be a list of strings (the command and its arguments)' }).min(1, { error: 'must name a command' }),
    cwd: z.string().optional(),
    env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'env names are letters, digits and _' }), z.string()).optional(),
    user: z.string().optional(),
    ringBytes: z.number().int().positive().max(64 * 1024 * 1024).optional().describe('Output kept per stream for replay (default 1 MiB).'),
  })
  .describe('A long-lived process to start in the workspace (berth.spawn).');

export type SpawnBody = z.infer<typeof spawnBody>;

export const killBody = z.strictObject({ signal: z.string().regex(/^SIG[A-Z0-9]+$/, { error: 'must be a signal name such as SIGTERM' }).optional() });

export const fileWriteBody = z
  .strictObject({ content: z.string({ error: 'must be the file\'s bytes, base64' }).describe('The bytes, base64.') })
  .describe('A file\'s new content (created with its folders, or replaced).');

export type FileWriteBody = z.infer<typeof fileWriteBody>;
export type UpBody = z.infer<typeof upBody>;
export type DevStartBody = z.infer<typeof devStartBody>;
export type EgressChangeBody = z.infer<typeof egressChangeBody>;
export type ApplyBody = z.infer<typeof applyBody>;
