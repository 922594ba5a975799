import type { ApplyProgress } from '../orchestrator/apply.js';
import { liveLine } from './live-line.js';

/**
 * A one-line progress display for `berth apply` on a terminal: how many of the plan's actions are
 * done, how many run, and the one running longest (the one holding things up) with its time so far.
 * Nothing is drawn when stderr is not a TTY (scripts, --json, CI logs keep only the outcome lines).
 */
export function progressLine(stream: NodeJS.WriteStream = process.stderr, now: () => number = Date.now): { onProgress: (p: ApplyProgress) => void; end: () => void } {
  let last: ApplyProgress | null = null;
  const line = liveLine(stream, () => (last === null ? null : formatProgress(last, now())));
  return {
    onProgress: (p) => {
      last = p;
      line.draw();
    },
    end: line.end,
  };
}

/** `[3/12] 4 running; slowest: create web (12.4 s)` */
export function formatProgress(p: ApplyProgress, now: number): string {
  const oldest = p.running[0];
  const slow = oldest ? `; slowest: ${oldest.label} (${((now - oldest.startedAt) / 1000).toFixed(1)} s)` : '';
  return `[${String(p.done)}/${String(p.total)}] ${String(p.running.length)} running${slow}`;
}
