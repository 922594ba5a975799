/**
 * How a plain command runs in a workspace when its caller does not say: for one brought up from a
 * devcontainer.json, as its remoteUser (else containerUser), in its workspaceFolder, with its
 * remoteEnv, as the reference's `devcontainer exec` runs it. Recorded with the workspace (the
 * ledger's spec, mirrored on the address card for the CLI's fast path) and applied here, once,
 * to every way in: exec, the interactive exec, spawn, and terminals.
 */
export interface ExecDefaults {
  user?: string | undefined;
  cwd?: string | undefined;
  /** remoteEnv with `${containerEnv:X}` already resolved (at up, in the container). */
  env?: Readonly<Record<string, string>> | undefined;
}

/** The options a caller passes, whatever each way in calls the folder (`cwd`, or the older `workdir`). */
interface DefaultedOptions {
  user?: string | undefined;
  cwd?: string | undefined;
  workdir?: string | undefined;
  env?: Readonly<Record<string, string>> | undefined;
}

/**
 * The caller's options over the workspace's defaults: an explicit user or folder wins whole, the
 * caller's variables win one by one.
 */
export function withExecDefaults<T extends DefaultedOptions>(defaults: ExecDefaults | undefined, options: T): T {
  if (defaults === undefined) return options;
  const out: T = { ...options };
  if (options.user === undefined && defaults.user !== undefined) out.user = defaults.user;
  if (options.cwd === undefined && options.workdir === undefined && defaults.cwd !== undefined) {
    // Both names: exec takes either (cwd first), the interactive exec `workdir`, spawn and terminals `cwd`.
    out.cwd = defaults.cwd;
    out.workdir = defaults.cwd;
  }
  if (defaults.env !== undefined && Object.keys(defaults.env).length > 0) out.env = { ...defaults.env, ...options.env };
  return out;
}

/** Read back from JSON (the address card, the ledger): anything malformed is no defaults at all. */
export function parseExecDefaults(value: unknown): ExecDefaults | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { user, cwd, env } = value as Record<string, unknown>;
  const text = (v: unknown): v is string | undefined => v === undefined || typeof v === 'string';
  const envOk = env === undefined || (typeof env === 'object' && env !== null && Object.values(env).every((v) => typeof v === 'string'));
  if (!text(user) || !text(cwd) || !envOk) return undefined;
  return { user, cwd, env: env as Record<string, string> | undefined };
}
