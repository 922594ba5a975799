// A process that serves egress on two accept loops and prints their pids; egress-loops.test.ts kills it with -9.
import type { RecordedEvent } from '../../src/events.js';
import { EgressService } from '../../src/egress/service.js';

const store = {
  egress: { egress: () => [] },
  events: { appendEvent: (_event: RecordedEvent) => 0, appendEvents: (_batch: readonly RecordedEvent[]) => undefined },
};
const service = new EgressService(store, { syncIntervalMs: 600_000, loops: 2 });
await service.start();
process.stdout.write(`primary ${String(process.pid)} loops ${service.loopPids().join(' ')}\n`);
