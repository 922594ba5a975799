import { setTimeout as sleep } from 'node:timers/promises';
import { defineCommand } from '../args.js';
import { EXIT, printJson, UsageError } from '../output.js';

const USAGE = 'Usage: berth events [--json] [--follow] [--since TIME|10m|2h|1d] [--workspace ID] [--type TYPE]\n';
const POLL_MS = 250;

export default defineCommand({
  usage: USAGE,
  options: { follow: { type: 'boolean', short: 'f' }, since: { type: 'string' }, workspace: { type: 'string' }, type: { type: 'string' } },
  async run({ values }) {
    // The event log is all this needs: no runtime is chosen, no engine is asked.
    const [{ Store }, { berthHome }] = await Promise.all([import('../../state/store.js'), import('../../config.js')]);
    const store = Store.open(berthHome());
    const query = { since: values.since === undefined ? undefined : parseSince(values.since), workspace: values.workspace, type: values.type };
    let events = store.events(query);
    if (!values.follow) {
      if (values.json) printJson(events);
      else for (const event of events) process.stdout.write(formatEvent(event));
      return EXIT.ok;
    }
    // Following: one JSON object per line with --json, so a reader can process them as they come.
    let stopped = false;
    process.once('SIGINT', () => (stopped = true));
    let lastSeq = 0;
    while (!stopped) {
      for (const event of events) {
        process.stdout.write(values.json ? `${JSON.stringify(event)}\n` : formatEvent(event));
        lastSeq = event.seq;
      }
      await sleep(POLL_MS);
      events = store.events({ ...query, afterSeq: lastSeq });
    }
    return EXIT.ok;
  },
});

function formatEvent(event: { time: string; level: string; type: string; workspace?: string | undefined; message: string }): string {
  return `${event.time}  ${event.level.padEnd(5)}  ${event.type.padEnd(26)}  ${(event.workspace ?? '-').padEnd(16)}  ${event.message}\n`;
}

/** An ISO time, or a duration back from now: 30s, 10m, 2h, 1d. */
export function parseSince(value: string, now: Date = new Date()): string {
  const relative = /^(\d+)([smhd])$/.exec(value);
  if (relative) {
    const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[relative[2] as 's' | 'm' | 'h' | 'd'];
    return new Date(now.getTime() - Number(relative[1]) * unit).toISOString();
  }
  const time = new Date(value);
  if (Number.isNaN(time.getTime())) throw new UsageError(`--since takes a time (2026-11-23T10:00:00Z) or a duration (10m, 2h), got ${JSON.stringify(value)}.`, USAGE);
  return time.toISOString();
}
