import { parseArgs, type ParseArgsConfig } from 'node:util';
import { EXIT, UsageError } from './output.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** Options every command accepts. */
export const GLOBAL_OPTIONS = {
  runtime: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies Options;

type Parsed<T extends Options> = ReturnType<
  typeof parseArgs<{ args: string[]; options: typeof GLOBAL_OPTIONS & T; allowPositionals: true; strict: true }>
>;

export interface CommandDefinition<T extends Options> {
  usage: string;
  options: T;
  /** Receives the parsed flags and positionals; `--` and what follows arrive as `rest`. */
  run: (parsed: Parsed<T>, rest: string[]) => Promise<number>;
}

/**
 * A command with Berth's conventions: global options, `--help` printing the usage, unknown flags
 * and missing values as usage errors (exit 2), and everything after `--` kept verbatim.
 */
export function defineCommand<T extends Options>(definition: CommandDefinition<T>): (argv: string[]) => Promise<number> {
  return async (argv) => {
    const split = argv.indexOf('--');
    const own = split === -1 ? argv : argv.slice(0, split);
    const rest = split === -1 ? [] : argv.slice(split + 1);
    let parsed: Parsed<T>;
    try {
      parsed = parseArgs({ args: own, options: { ...GLOBAL_OPTIONS, ...definition.options }, allowPositionals: true, strict: true });
    } catch (error) {
      throw new UsageError(error instanceof Error ? error.message : String(error), definition.usage);
    }
    if ((parsed.values as { help?: boolean }).help) {
      process.stdout.write(definition.usage);
      return EXIT.ok;
    }
    return definition.run(parsed, rest);
  };
}

/** The positional a command needs, or a usage error naming it. */
export function requirePositional(positionals: string[], index: number, name: string, usage: string): string {
  const value = positionals[index];
  if (value === undefined) throw new UsageError(`Missing <${name}>.`, usage);
  return value;
}

/** `K=V` pairs from repeated --env flags. */
export function parseEnvPairs(pairs: readonly string[] | undefined, usage: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of pairs ?? []) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new UsageError(`--env takes NAME=VALUE, got ${JSON.stringify(pair)}.`, usage);
    env[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return env;
}

/**
 * `berth --runtime docker up x` as well as `berth up x --runtime docker`: global options written
 * before the command move behind it, where every command parses them.
 */
export function globalsAfterCommand(argv: string[]): string[] {
  const globals: string[] = [];
  let index = 0;
  while (index < argv.length) {
    const arg = argv[index] ?? '';
    if (arg === '--json' || arg.startsWith('--runtime=')) {
      globals.push(arg);
      index += 1;
    } else if (arg === '--runtime' && index + 1 < argv.length) {
      globals.push(arg, argv[index + 1] ?? '');
      index += 2;
    } else {
      break;
    }
  }
  if (globals.length === 0 || index >= argv.length) return argv;
  const [command, ...rest] = argv.slice(index);
  // After `--` everything is the user's command (berth exec x -- cmd): globals go before it.
  const dashes = rest.indexOf('--');
  return dashes === -1 ? [command ?? '', ...rest, ...globals] : [command ?? '', ...rest.slice(0, dashes), ...globals, ...rest.slice(dashes)];
}
