import { describe, expect, it } from 'vitest';
import { FrameParser, type EndFrame, type StreamName } from '../../src/workspace/process-frames.js';

function parse(chunks: Buffer[]): { out: Buffer; err: Buffer; gaps: string[]; ends: EndFrame[]; parser: FrameParser } {
  const data: Record<StreamName, Buffer[]> = { stdout: [], stderr: [] };
  const gaps: string[] = [];
  const ends: EndFrame[] = [];
  const parser = new FrameParser({
    data: (stream, chunk) => data[stream].push(Buffer.from(chunk)),
    gap: (stream, offset) => gaps.push(`${stream}@${String(offset)}`),
    end: (frame) => ends.push(frame),
  });
  for (const chunk of chunks) parser.push(chunk);
  return { out: Buffer.concat(data.stdout), err: Buffer.concat(data.stderr), gaps, ends, parser };
}

const hostile = Buffer.from([0xff, 0xfe, 0x00, 0x41, 0x0a, 0x6f, 0x20, 0x39, 0x0a]); // bytes that look like a header inside a frame
const stream = Buffer.concat([
  Buffer.from(`o ${String(hostile.length)}\n`),
  hostile,
  Buffer.from('e 2\n'),
  Buffer.from([0x00, 0xff]),
  Buffer.from('g o 4096\n'),
  Buffer.from('o 3\nabc'),
  Buffer.from('x 143 TERM\n'),
]);

describe('FrameParser (what a follower prints)', () => {
  it('gives each stream its raw bytes, gaps and the end, however the bytes are cut', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const { out, err, gaps, ends, parser } = parse([stream.subarray(0, cut), stream.subarray(cut)]);
      expect(out).toEqual(Buffer.concat([hostile, Buffer.from('abc')]));
      expect(err).toEqual(Buffer.from([0x00, 0xff]));
      expect(gaps).toEqual(['stdout@4096']);
      expect(ends).toEqual([{ status: 143, signal: 'TERM' }]);
      expect(parser.atBoundary).toBe(true);
    }
    const byByte = parse([...stream].map((b) => Buffer.from([b])));
    expect(byByte.out).toEqual(Buffer.concat([hostile, Buffer.from('abc')]));
  });

  it('reads an exit without a signal, and a process that vanished', () => {
    expect(parse([Buffer.from('x 7 \n')]).ends).toEqual([{ status: 7, signal: null }]);
    expect(parse([Buffer.from('x 0\n')]).ends).toEqual([{ status: 0, signal: null }]);
    expect(parse([Buffer.from('x -\n')]).ends).toEqual([{ status: null, signal: null }]);
  });

  it('knows when a follower stopped inside a frame', () => {
    expect(parse([Buffer.from('o 5\nab')]).parser.atBoundary).toBe(false);
  });

  it('stops at anything that is not a frame, and says so instead of throwing', () => {
    const { out, parser } = parse([Buffer.from('o 1\nAhello\no 1\nB')]);
    expect(out.toString()).toBe('A');
    expect(parser.error?.message).toContain('unexpected follower output: "hello"');
    const long = parse([Buffer.alloc(100, 0x61)]);
    expect(long.parser.error).not.toBeNull();
  });
});
