import { StringDecoder } from 'node:string_decoder';
import type { HookCommand, HookProgress, HookRun } from '../workspace/devcontainer-up.js';
import { liveLine } from './live-line.js';

export interface HookPrinter {
  onProgress: (progress: HookProgress) => void;
  onHook: (run: HookRun) => void;
  /** Erases the status line and stops its timer (call once the hooks are over, or failed). */
  end: () => void;
}

interface Running {
  label: string;
  startedAt: number;
  /** Lines of a named command (the object form runs several at once) carry its name. */
  prefix: string;
  decoder: StringDecoder;
  /** The last output line, until its newline comes. */
  partial: string;
}

/**
 * The devcontainer hooks on stderr as they run (`berth up --devcontainer`, a shell's postAttach):
 * a header when a command starts, its output line by line as it comes, and how it ended with its
 * time. The object form runs named commands in parallel: their lines carry the name, and a line is
 * written only once whole, so two commands never mix inside one line. On a terminal a status line
 * under the output says what still runs and for how long (erased before each output line, redrawn
 * after); in a pipe or a CI log nothing is redrawn and no escape is written.
 */
export function hookPrinter(stream: NodeJS.WriteStream = process.stderr, now: () => number = Date.now): HookPrinter {
  const running = new Map<string, Running>();
  const status = liveLine(stream, () => (running.size === 0 ? null : statusLine([...running.values()], now())));
  const write = (text: string): void => {
    if (text === '') return;
    status.clear();
    stream.write(text);
    status.draw();
  };
  const lines = (entry: Running, text: string): string => {
    const whole = entry.partial + text;
    const end = whole.lastIndexOf('\n');
    entry.partial = whole.slice(end + 1);
    if (end < 0) return '';
    return whole
      .slice(0, end + 1)
      .split(/(?<=\n)/)
      .map((line) => entry.prefix + line)
      .join('');
  };
  return {
    onProgress: (progress) => {
      const key = keyOf(progress.command);
      if (progress.type === 'start') {
        const label = labelOf(progress.command);
        running.set(key, { label, startedAt: now(), prefix: progress.command.name === null ? '' : `[${progress.command.name}] `, decoder: new StringDecoder('utf8'), partial: '' });
        write(`--- ${label}: ${progress.command.argv.join(' ')}\n`);
        return;
      }
      const entry = running.get(key);
      if (entry) write(lines(entry, entry.decoder.write(progress.chunk)));
    },
    onHook: (run) => {
      const key = keyOf(run);
      const entry = running.get(key);
      running.delete(key);
      if (!entry) {
        // Its output was not streamed (no start seen): all of it now, as it ended.
        write(`--- ${labelOf(run)}: ${run.argv.join(' ')}\n${run.output}${run.output.endsWith('\n') || run.output === '' ? '' : '\n'}`);
        if (run.exitCode !== 0) write(`--- ${labelOf(run)} exited ${String(run.exitCode)}\n`);
        return;
      }
      const rest = entry.partial + entry.decoder.end();
      const seconds = ((now() - entry.startedAt) / 1000).toFixed(1);
      write(`${rest === '' ? '' : `${entry.prefix}${rest}\n`}--- ${entry.label} ${run.exitCode === 0 ? 'done' : `exited ${String(run.exitCode)}`} after ${seconds} s\n`);
    },
    end: status.end,
  };
}

/** `postCreateCommand`, `postCreateCommand "build"`, with the feature or image label it comes from. */
export function labelOf(command: Pick<HookCommand, 'hook' | 'name' | 'feature' | 'image'>): string {
  const whose = command.feature !== undefined ? ` (feature ${command.feature})` : command.image !== undefined ? ` (image label ${command.image})` : '';
  return `${command.hook}${command.name === null ? '' : ` "${command.name}"`}${whose}`;
}

/** `running: postCreateCommand (12.4 s), postCreateCommand "db" (3.0 s)`, the longest first. */
export function statusLine(running: readonly Pick<Running, 'label' | 'startedAt'>[], now: number): string {
  const byAge = [...running].sort((a, b) => a.startedAt - b.startedAt);
  return `running: ${byAge.map((r) => `${r.label} (${((now - r.startedAt) / 1000).toFixed(1)} s)`).join(', ')}`;
}

function keyOf(command: Pick<HookCommand, 'hook' | 'name' | 'feature' | 'image'>): string {
  return JSON.stringify([command.hook, command.feature ?? null, command.image ?? null, command.name]);
}
