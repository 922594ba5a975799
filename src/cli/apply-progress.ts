import type { ApplyProgress } from '../orchestrator/apply.js';

/** Redrawn this often while something runs, so the slowest action's time keeps counting. */
const REDRAW_MS = 500;

/**
 * A one-line progress display for `berth apply` on a terminal: how many of the plan's actions are
 * done, how many run, and the one running longest (the one holding things up) with its time so far.
 * Nothing is drawn when stderr is not a TTY (scripts, --json, CI logs keep only the outcome lines).
 */
export function progressLine(stream: NodeJS.WriteStream = process.stderr, now: () => number = Date.now): { onProgress: (p: ApplyProgress) => void; end: () => void } {
  if (!stream.isTTY) return { onProgress: () => undefined, end: () => undefined };
  let last: ApplyProgress | null = null;
  let drawn = false;
  const draw = (): void => {
    if (last === null) return;
    const line = formatProgress(last, now()).slice(0, Math.max(20, (stream.columns || 80) - 1));
    stream.write(`\r\u001b[2K${line}`);
    drawn = true;
  };
  const timer = setInterval(draw, REDRAW_MS);
  timer.unref();
  return {
    onProgress: (p) => {
      last = p;
      draw();
    },
    end: () => {
      clearInterval(timer);
      if (drawn) stream.write('\r\u001b[2K');
    },
  };
}

/** `[3/12] 4 running; slowest: create web (12.4 s)` */
export function formatProgress(p: ApplyProgress, now: number): string {
  const oldest = p.running[0];
  const slow = oldest ? `; slowest: ${oldest.label} (${((now - oldest.startedAt) / 1000).toFixed(1)} s)` : '';
  return `[${String(p.done)}/${String(p.total)}] ${String(p.running.length)} running${slow}`;
}
