import type { PtyHandle } from '../workspace/pty.js';

/**
 * A workspace terminal (berth.pty) on this process's own terminal: keystrokes go in raw (Ctrl-C
 * reaches the workspace, not Berth), output comes out as it is, the size follows the window
 * (SIGWINCH). Resolves to the terminal's exit code, with this terminal restored.
 */
export async function attachTerminal(pty: PtyHandle, stdin: NodeJS.ReadStream = process.stdin, stdout: NodeJS.WriteStream = process.stdout): Promise<number> {
  const onInput = (data: Buffer): void => pty.write(data);
  const onResize = (): void => void pty.resize(stdout.columns || 80, stdout.rows || 24).catch(() => undefined);
  const wasRaw = stdin.isRaw;
  // Raw before the first output: keys typed after the prompt shows must not meet a cooked terminal.
  stdin.setRawMode(true);
  stdin.on('data', onInput);
  stdin.resume();
  process.on('SIGWINCH', onResize);
  const offData = pty.onData((data) => stdout.write(data));
  try {
    const { exitCode } = await pty.wait();
    return exitCode ?? 1;
  } finally {
    process.off('SIGWINCH', onResize);
    stdin.off('data', onInput);
    stdin.setRawMode(wasRaw);
    stdin.pause();
    offData();
  }
}

/** This terminal's size, for the workspace terminal's start. */
export function terminalSize(stdout: NodeJS.WriteStream = process.stdout): { cols: number; rows: number } {
  return { cols: stdout.columns || 80, rows: stdout.rows || 24 };
}
