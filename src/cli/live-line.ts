/** Redrawn this often while something runs, so the times it shows keep counting. */
const REDRAW_MS = 500;

export interface LiveLine {
  /** Draws what `render` says now (nothing when it says null). */
  draw: () => void;
  /** Erases the line, so other output can be written where it was. */
  clear: () => void;
  /** Erases the line and stops redrawing it. */
  end: () => void;
}

/**
 * One status line at the bottom of a terminal (`berth apply`'s progress, the devcontainer hooks
 * still running), redrawn in place while there is something to say. On anything but a terminal it
 * does nothing: scripts, `--json` and CI logs keep only the lines written around it.
 */
export function liveLine(stream: NodeJS.WriteStream, render: () => string | null): LiveLine {
  if (!stream.isTTY) return { draw: () => undefined, clear: () => undefined, end: () => undefined };
  let drawn = false;
  const clear = (): void => {
    if (drawn) stream.write('\r\u001b[2K');
    drawn = false;
  };
  const draw = (): void => {
    const text = render();
    if (text === null) return;
    stream.write(`\r\u001b[2K${text.slice(0, Math.max(20, (stream.columns || 80) - 1))}`);
    drawn = true;
  };
  const timer = setInterval(draw, REDRAW_MS);
  timer.unref();
  return {
    draw,
    clear,
    end: () => {
      clearInterval(timer);
      clear();
    },
  };
}
