import { describe, expect, it } from 'vitest';
import { hookPrinter, statusLine } from '../../src/cli/hook-progress.js';
import type { HookCommand } from '../../src/workspace/devcontainer-up.js';

/** A stderr that keeps what is written; a terminal or a pipe. */
function fakeStream(isTTY: boolean): NodeJS.WriteStream & { text: () => string } {
  const written: string[] = [];
  return { isTTY, columns: 100, write: (chunk: string) => (written.push(chunk), true), text: () => written.join('') } as unknown as NodeJS.WriteStream & { text: () => string };
}

const build: HookCommand = { hook: 'postCreateCommand', name: 'build', argv: ['/bin/sh', '-c', 'make'] };
const db: HookCommand = { hook: 'postCreateCommand', name: 'db', argv: ['/bin/sh', '-c', 'seed'] };
const plain: HookCommand = { hook: 'onCreateCommand', name: null, feature: './greet', argv: ['/bin/sh', '-c', 'echo hi'] };

describe('the hooks as they run, on stderr', () => {
  it('in a pipe: a header at start, whole lines as they come (named ones prefixed, never mixed), the outcome with its time; no escapes', () => {
    const stream = fakeStream(false);
    let clock = 1000;
    const printer = hookPrinter(stream, () => clock);
    printer.onProgress({ type: 'start', command: build });
    printer.onProgress({ type: 'start', command: db });
    printer.onProgress({ type: 'output', command: build, chunk: Buffer.from('compil') });
    // Half a line of one command and a whole line of the other: the half waits for its newline.
    printer.onProgress({ type: 'output', command: db, chunk: Buffer.from('seeded 1\n') });
    expect(stream.text()).not.toContain('compil');
    printer.onProgress({ type: 'output', command: build, chunk: Buffer.from('ing\nlinking\nlast without newline') });
    // A UTF-8 character split across two chunks comes out whole.
    const snow = Buffer.from('é\n');
    printer.onProgress({ type: 'output', command: db, chunk: snow.subarray(0, 1) });
    printer.onProgress({ type: 'output', command: db, chunk: snow.subarray(1) });
    clock = 3500;
    printer.onHook({ ...build, exitCode: 0, output: 'compiling\nlinking\nlast without newline' });
    printer.onHook({ ...db, exitCode: 2, output: 'seeded 1\né\n' });
    printer.end();
    expect(stream.text()).toBe(
      [
        '--- postCreateCommand "build": /bin/sh -c make',
        '--- postCreateCommand "db": /bin/sh -c seed',
        '[db] seeded 1',
        '[build] compiling',
        '[build] linking',
        '[db] é',
        '[build] last without newline',
        '--- postCreateCommand "build" done after 2.5 s',
        '--- postCreateCommand "db" exited 2 after 2.5 s',
        '',
      ].join('\n'),
    );
  });

  it('on a terminal: a status line under the output, erased before each line and at the end', () => {
    const stream = fakeStream(true);
    const printer = hookPrinter(stream, () => 0);
    printer.onProgress({ type: 'start', command: plain });
    printer.onProgress({ type: 'output', command: plain, chunk: Buffer.from('hi\n') });
    printer.onHook({ ...plain, exitCode: 0, output: 'hi\n' });
    printer.end();
    expect(stream.text()).toBe(
      '--- onCreateCommand (feature ./greet): /bin/sh -c echo hi\n' +
        '\r\u001b[2Krunning: onCreateCommand (feature ./greet) (0.0 s)' +
        '\r\u001b[2Khi\n' +
        '\r\u001b[2Krunning: onCreateCommand (feature ./greet) (0.0 s)' +
        '\r\u001b[2K--- onCreateCommand (feature ./greet) done after 0.0 s\n',
    );
  });

  it('prints a hook whose output was not streamed whole when it ends', () => {
    const stream = fakeStream(false);
    const printer = hookPrinter(stream);
    printer.onHook({ ...plain, exitCode: 1, output: 'boom' });
    expect(stream.text()).toBe('--- onCreateCommand (feature ./greet): /bin/sh -c echo hi\nboom\n--- onCreateCommand (feature ./greet) exited 1\n');
  });

  it('names the longest-running first in the status line', () => {
    expect(statusLine([{ label: 'b', startedAt: 2000 }, { label: 'a', startedAt: 0 }], 4000)).toBe('running: a (4.0 s), b (2.0 s)');
  });
});
