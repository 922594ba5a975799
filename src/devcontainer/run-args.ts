/**
 * `runArgs`: extra `docker run` flags. Berth honours the subset the spec has keys for
 * (`--cap-add`, `--security-opt`, `--privileged`, `--init`) and a few that only add to the
 * container (`-e`/`--env`, `--add-host`, `--device`); any other flag would change what runs in a way
 * Berth does not carry out (network, user namespace, volumes...), so it is refused, not dropped.
 */
export interface RunOptions {
  capAdd: string[];
  securityOpt: string[];
  privileged: boolean;
  init: boolean;
  env: Record<string, string>;
  addHost: string[];
  devices: string[];
}

export type RunArgsResult = { options: RunOptions } | { error: string; index: number };

const WITH_VALUE: Record<string, 'capAdd' | 'securityOpt' | 'env' | 'addHost' | 'devices'> = {
  '--cap-add': 'capAdd',
  '--security-opt': 'securityOpt',
  '-e': 'env',
  '--env': 'env',
  '--add-host': 'addHost',
  '--device': 'devices',
};
const FLAGS: Record<string, 'privileged' | 'init'> = { '--privileged': 'privileged', '--init': 'init' };

export function emptyRunOptions(): RunOptions {
  return { capAdd: [], securityOpt: [], privileged: false, init: false, env: {}, addHost: [], devices: [] };
}

export function parseRunArgs(args: readonly string[]): RunArgsResult {
  const options = emptyRunOptions();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    const eq = arg.indexOf('=');
    const flag = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    const inline = arg.startsWith('--') && eq > 0 ? arg.slice(eq + 1) : undefined;
    const boolean = FLAGS[flag];
    if (boolean !== undefined) {
      if (inline !== undefined && inline !== 'true' && inline !== 'false') return { error: `${flag} takes no value`, index: i };
      options[boolean] = inline !== 'false';
      continue;
    }
    const key = WITH_VALUE[flag];
    if (key === undefined) {
      return { error: `Berth does not carry out the docker run flag ${JSON.stringify(flag)}; it supports --cap-add, --security-opt, --privileged, --init, -e/--env, --add-host and --device`, index: i };
    }
    let value = inline;
    if (value === undefined) {
      value = args[i + 1];
      if (value === undefined) return { error: `${flag} needs a value`, index: i };
      i++;
    }
    if (key === 'env') {
      const at = value.indexOf('=');
      // `-e NAME` passes the host's value through: Berth does not hand host variables in unasked.
      if (at <= 0) return { error: `${flag} ${value}: pass NAME=value (Berth does not copy host variables in by name)`, index: i };
      options.env[value.slice(0, at)] = value.slice(at + 1);
    } else options[key].push(value);
  }
  return { options };
}
