import { describe, expect, it } from 'vitest';
import { ByteTail } from '../../src/process/byte-tail.js';

describe('ByteTail: the newest bytes of a stream', () => {
  it('keeps exactly the last `limit` bytes, cutting a chunk where the limit falls', () => {
    const tail = new ByteTail(5);
    tail.add(Buffer.from('abc'));
    tail.add(Buffer.from('defg'));
    expect(tail.bytes().toString()).toBe('cdefg');
    expect(tail.length).toBe(5);
    expect(tail.total).toBe(7);
  });

  it('holds no more than the limit when one chunk is larger than it', () => {
    const tail = new ByteTail(4);
    tail.add(Buffer.alloc(1000, 0x61));
    tail.add(Buffer.from([0xff, 0xfe]));
    expect([...tail.bytes()]).toEqual([0x61, 0x61, 0xff, 0xfe]);
  });

  it('copies what it keeps: a caller reusing its buffer changes nothing', () => {
    const tail = new ByteTail(8);
    const reused = Buffer.from('one');
    tail.add(reused);
    reused.write('two');
    expect(tail.bytes().toString()).toBe('one');
  });

  it('ignores empty chunks and is empty at first', () => {
    const tail = new ByteTail(8);
    expect(tail.bytes()).toHaveLength(0);
    tail.add(new Uint8Array(0));
    expect(tail.total).toBe(0);
  });
});
