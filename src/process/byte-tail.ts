/**
 * The newest `limit` bytes of a stream, for whoever comes late: a re-attached terminal, a process
 * handle subscribed after its output began. Older bytes are dropped exactly at the limit (a chunk
 * is cut, not kept whole), so the memory held is bounded whatever the chunk sizes.
 */
export class ByteTail {
  /** Bytes ever added: the stream offset just past the newest byte. */
  total = 0;
  private chunks: Buffer[] = [];
  private size = 0;
  private readonly limit: number;

  constructor(limit: number) {
    this.limit = limit;
  }

  /** Keeps a copy of `chunk` (the caller may reuse its buffer) and returns it. */
  add(chunk: Uint8Array): Buffer {
    const copy = Buffer.from(chunk);
    if (copy.length === 0) return copy;
    this.total += copy.length;
    this.chunks.push(copy);
    this.size += copy.length;
    while (this.size > this.limit) {
      const first = this.chunks[0];
      if (!first) break;
      const excess = this.size - this.limit;
      if (first.length <= excess) {
        this.chunks.shift();
        this.size -= first.length;
      } else {
        this.chunks[0] = first.subarray(excess);
        this.size -= excess;
      }
    }
    return copy;
  }

  /** How many bytes are kept. */
  get length(): number {
    return this.size;
  }

  /** The kept bytes, oldest first. */
  bytes(): Buffer {
    return Buffer.concat(this.chunks, this.size);
  }
}
