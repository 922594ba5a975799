import { accessSync, constants, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');

// A new user runs two commands from the README: it must still name them, and they must run.
describe('README', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');

  it('gives the two commands, and both are executable scripts in the repo', () => {
    for (const script of ['scripts/quickstart.sh', 'scripts/test.sh']) {
      expect(readme).toContain(script);
      accessSync(join(ROOT, script), constants.X_OK);
    }
  });

  it('is what CI runs: .ci/run runs the README test command', () => {
    expect(readFileSync(join(ROOT, '.ci/run'), 'utf8')).toContain('scripts/test.sh');
  });

  it('documents every CLI command', async () => {
    const { readFile } = await import('node:fs/promises');
    const cli = await readFile(join(ROOT, 'src/cli/run-cli.ts'), 'utf8');
    const commands = [...cli.matchAll(/^ {2}(\w+): \{ summary/gm)].map((m) => m[1]);
    expect(commands.length).toBeGreaterThan(10);
    for (const command of commands) expect(readme, `berth ${String(command)}`).toContain(`berth ${String(command)}`);
  });
});
