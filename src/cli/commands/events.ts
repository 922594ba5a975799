import { defineCommand } from '../args.js';
import { EXIT, printJson, UsageError } from '../output.js';

const USAGE = 'Usage: berth events [--json] [--follow] [--since TIME|10m|2h|1d] [--workspace ID] [--type TYPE]\n';

export default defineCommand({
  usage: USAGE,
  options: { follow: { type: 'boolean', short: 'f' }, since: { type: 'string' }, workspace: { type: 'string' }, type: { type: 'string' } },
  async run({ values }) {
    // The daemon's log when one runs; else SQLite directly: no runtime is chosen, no engine asked.
    const { openEvents } = await import('../open-berth.js');
    const log = await openEvents();
    const query = { since: values.since === undefined ? undefined : parseSince(values.since), workspace: values.workspace, type: values.type };
    const events = await log.events(query);
    if (!values.follow) {
      if (values.json) printJson(events);
      else for (const event of events) process.stdout.write(formatEvent(event));
      return EXIT.ok;
    }
    // Following: one JSON object per line with --json, so a reader can process them as they come.
    const print = (event: (typeof events)[number]): void => void process.stdout.write(values.json ? `${JSON.stringify(event)}\n` : formatEvent(event));
    events.forEach(print);
    const stop = new AbortController();
    process.once('SIGINT', () => stop.abort());
    process.once('SIGTERM', () => stop.abort());
    for await (const event of log.follow(query, events.at(-1)?.seq ?? 0, stop.signal)) print(event);
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
