import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { BerthError } from './errors.js';

/** Berth's state folder: `$BERTH_HOME`, else `~/.berth`. */
export function berthHome(env: NodeJS.ProcessEnv = process.env): string {
  return env['BERTH_HOME'] || join(homedir(), '.berth');
}

const configSchema = z.strictObject({
  /** Default runtime when neither --runtime nor BERTH_RUNTIME says. */
  runtime: z.enum(['apple', 'docker', 'podman', 'host', 'auto']).optional(),
});
export type BerthConfig = z.infer<typeof configSchema>;

/** Reads `$BERTH_HOME/config.json`; a missing file is an empty config, a bad one a clear error. */
export function loadConfig(home: string): BerthConfig {
  const file = join(home, 'config.json');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if (error instanceof Error && 'code' in error && error.code === 'ENOENT') return {};
    throw error;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new BerthError('E_INVALID_INPUT', `${file} is not valid JSON: ${(cause as Error).message}`, {
      hint: 'Fix the file, or delete it to use the defaults.',
      cause,
    });
  }
  const result = configSchema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw new BerthError('E_INVALID_INPUT', `${file}: ${issue?.path.join('.') || '(top level)'}: ${issue?.message ?? 'invalid'}`, {
    hint: 'Known keys: runtime ("apple", "docker", "podman", "host" or "auto").',
  });
}
