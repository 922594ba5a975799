import { accessSync, constants, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runCli } from '../../src/cli/run-cli.js';
import { run } from '../../src/process/index.js';

const ROOT = join(import.meta.dirname, '../..');

/**
 * The simple commands of a shell text as bash itself parses them: `declare -f` prints a function's
 * body re-formatted, one command a line, with every comment gone. So a command that is only
 * mentioned in a comment is not found, and a text bash cannot parse fails the test.
 */
async function shellCommands(script: string): Promise<string[][]> {
  const { stdout } = await run(['bash', '-c', `berth_readme_check() {\n${script}\n}\ndeclare -f berth_readme_check`]);
  return stdout
    .split('\n')
    .slice(2, -2)
    .map((line) => line.trim().replace(/;$/, ''))
    .filter((line) => line !== '')
    .map((line) => line.split(/\s+/));
}

/** Markdown without its HTML comments: what a reader sees. */
function visible(markdown: string): string {
  return markdown.replace(/<!--[\s\S]*?-->/g, '');
}

/** The fenced code blocks (language, text) of a Markdown text, in order. */
function codeBlocks(markdown: string): { lang: string; text: string }[] {
  return [...visible(markdown).matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((m) => ({ lang: m[1] ?? '', text: m[2] ?? '' }));
}

/** The code a reader can copy: fenced blocks and `inline code`. */
function codeText(markdown: string): string {
  const text = visible(markdown);
  const inline = [...text.replace(/^```\w*\n[\s\S]*?^```$/gm, '').matchAll(/`([^`\n]+)`/g)].map((m) => m[1] ?? '');
  return [...codeBlocks(markdown).map((b) => b.text), ...inline].join('\n');
}

// A new user runs two commands from the README: it must still name them, and they must run.
describe('README', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');

  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('gives the two commands in its first shell block, and both are executable scripts bash can parse', async () => {
    const first = codeBlocks(readme).find((block) => block.lang === 'sh');
    if (!first) throw new Error('README.md has no ```sh block');
    const commands = (await shellCommands(first.text)).map((words) => words[0]);
    expect(commands).toEqual(['scripts/quickstart.sh', 'scripts/test.sh']);
    for (const script of commands as string[]) {
      accessSync(join(ROOT, script), constants.X_OK);
      await run(['bash', '-n', join(ROOT, script)]);
    }
  });

  it('is what CI runs: .ci/run runs the README test command', async () => {
    const commands = await shellCommands(readFileSync(join(ROOT, '.ci/run'), 'utf8'));
    const runsTests = commands.some((words) => {
      const program = words[0] === 'exec' ? words.slice(1) : words;
      return program[0] === 'scripts/test.sh' || (program[0] === 'bash' && program[1] === 'scripts/test.sh');
    });
    expect(runsTests, commands.map((words) => words.join(' ')).join('\n')).toBe(true);
  });

  it('documents every CLI command (as `berth help` lists them) in code a reader can copy', async () => {
    let help = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      help += String(chunk);
      return true;
    });
    expect(await runCli(['help'])).toBe(0);
    vi.restoreAllMocks();
    const commands = [...help.matchAll(/^ {2}([a-z][\w-]*) {2,}\S/gm)].map((m) => m[1] ?? '');
    expect(commands.length).toBeGreaterThan(10);
    const code = codeText(readme);
    for (const command of commands) expect(code, `berth ${command}`).toMatch(new RegExp(`\\bberth ${command}\\b`));
  });

  it('the parsers ignore comments (self-test)', async () => {
    expect(await shellCommands('# scripts/test.sh\ntrue # scripts/test.sh\n')).toEqual([['true']]);
    expect(codeText('<!-- `berth up` -->\nno code here\n')).not.toContain('berth up');
  });
});
