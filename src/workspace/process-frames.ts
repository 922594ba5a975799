/**
 * Reads what a follower (process-scripts.ts, FOLLOW_SCRIPT) prints: frames of raw bytes, so output
 * of any kind (NUL, invalid UTF-8, a partial line) arrives unchanged and each byte is known to be
 * stdout's or stderr's at an exact offset of its ring.
 *   `o <n>\n` + n bytes | `e <n>\n` + n bytes | `g o|e <offset>\n` | `x <status> [signal]\n` | `x -\n`
 */

export type StreamName = 'stdout' | 'stderr';

/** How a process ended: `status` as the workspace's sh reported it (null: unknown, the process vanished). */
export interface EndFrame {
  status: number | null;
  /** The signal's name without `SIG` when the status says one ended it (status 128 + n). */
  signal: string | null;
}

export interface FrameSink {
  data(stream: StreamName, chunk: Buffer): void;
  /** The ring dropped bytes before `offset` before the follower read them. */
  gap(stream: StreamName, offset: number): void;
  end(frame: EndFrame): void;
}

/** A header is a short line; anything longer means the stream is not frames. */
const MAX_HEADER = 64;

export class FrameParser {
  private pending: Buffer = Buffer.alloc(0);
  /** Bytes still owed to the current data frame. */
  private owed = 0;
  private stream: StreamName = 'stdout';
  /** Set when the bytes were not frames; everything after is ignored. */
  error: Error | null = null;

  private readonly sink: FrameSink;

  constructor(sink: FrameSink) {
    this.sink = sink;
  }

  push(chunk: Buffer): void {
    if (this.error) return;
    let input = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    this.pending = Buffer.alloc(0);
    while (input.length > 0) {
      if (this.owed > 0) {
        const take = Math.min(this.owed, input.length);
        this.sink.data(this.stream, input.subarray(0, take));
        this.owed -= take;
        input = input.subarray(take);
        continue;
      }
      const newline = input.indexOf(0x0a);
      if (newline < 0) {
        if (input.length > MAX_HEADER) this.fail(input);
        else this.pending = Buffer.from(input);
        return;
      }
      this.header(input.subarray(0, newline).toString('latin1'));
      if (this.error) return;
      input = input.subarray(newline + 1);
    }
  }

  /** Whether what was pushed so far ended between frames (a follower that stopped cleanly). */
  get atBoundary(): boolean {
    return this.owed === 0 && this.pending.length === 0 && this.error === null;
  }

  private header(line: string): void {
    const data = /^([oe]) (\d+)$/.exec(line);
    if (data) {
      this.stream = data[1] === 'o' ? 'stdout' : 'stderr';
      this.owed = Number(data[2]);
      return;
    }
    const gap = /^g ([oe]) (\d+)$/.exec(line);
    if (gap) {
      this.sink.gap(gap[1] === 'o' ? 'stdout' : 'stderr', Number(gap[2]));
      return;
    }
    const end = /^x (-|\d+) ?([A-Z0-9+-]*)$/.exec(line);
    if (end) {
      this.sink.end({ status: end[1] === '-' ? null : Number(end[1]), signal: end[2] ? end[2] : null });
      return;
    }
    this.fail(Buffer.from(line, 'latin1'));
  }

  private fail(input: Buffer): void {
    this.error = new Error(`unexpected follower output: ${JSON.stringify(input.subarray(0, MAX_HEADER).toString('latin1'))}`);
  }
}
