/**
 * How env values reach a container through an engine CLI. Values stay off the command line (where
 * `ps` shows them to every user): `--env NAME` makes the CLI copy the value from its own
 * environment. That environment is also the CLI's, though, so names the CLI itself (or the tools
 * it starts: conmon, runc, credential helpers) depends on would change how it runs: those go on the
 * command line as `NAME=value`; they hold paths and settings, not secrets.
 */
const CLI_OWN = /^(PATH|HOME|USER|LOGNAME|SHELL|TMPDIR|TMP|TEMP|PWD|LANG|LC_[A-Z]+|TZ|LD_[A-Z_]+|DYLD_[A-Z_]+|XDG_[A-Z_]+|DOCKER_[A-Z_]+|CONTAINERS?_[A-Z_]+|BUILDAH_[A-Z_]+|PODMAN_[A-Z_]+|REGISTRY_AUTH_FILE|SSL_CERT_(FILE|DIR)|BERTH_[A-Z_]+|NODE_OPTIONS)$/;

export interface CliEnv {
  /** `--env` flags, sorted by name, so the same env always yields the same command line. */
  flags: string[];
  /** Values the CLI must find in its environment for the `--env NAME` flags. */
  passed: Record<string, string>;
}

/** Sorted by key, so the same input always yields the same command line. */
export function sortedEntries<V>(record: Readonly<Record<string, V>> | undefined): [string, V][] {
  return Object.entries(record ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

export function cliEnv(env: Readonly<Record<string, string>> | undefined, flag = '--env'): CliEnv {
  const flags: string[] = [];
  const passed: Record<string, string> = {};
  for (const [name, value] of sortedEntries(env)) {
    if (CLI_OWN.test(name)) {
      flags.push(flag, `${name}=${value}`);
    } else {
      flags.push(flag, name);
      passed[name] = value;
    }
  }
  return { flags, passed };
}
