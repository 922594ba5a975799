import type { IncomingMessage, ServerResponse } from 'node:http';
import type { StoredEvent } from '../../state/store.js';
import type { EventFeed } from '../event-feed.js';

const HEARTBEAT_MS = 15_000;

/**
 * Server-Sent Events: each event once, in sequence order, with `id:` its sequence number so a
 * client that reconnects sends Last-Event-ID and misses nothing. A comment line every 15 s keeps
 * proxies and idle timers from closing a quiet stream.
 */
export function streamEvents(req: IncomingMessage, res: ServerResponse, feed: EventFeed, afterSeq: number, wanted: (event: StoredEvent) => boolean): void {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  res.write('retry: 2000\n\n');
  const unsubscribe = feed.subscribe(afterSeq, (event) => {
    if (wanted(event)) res.write(`id: ${String(event.seq)}\ndata: ${JSON.stringify(event)}\n\n`);
  });
  const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
  const end = (): void => {
    clearInterval(heartbeat);
    unsubscribe();
  };
  req.once('close', end);
  res.once('close', end);
}
