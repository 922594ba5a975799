import { describe, expect, it } from 'vitest';
import { parseSince } from '../../src/cli/commands/events.js';
import { UsageError } from '../../src/cli/output.js';

describe('berth events --since', () => {
  const now = new Date('2026-11-23T12:00:00.000Z');

  it('reads a duration back from now in s, m, h or d', () => {
    expect(['30s', '10m', '2h', '1d'].map((v) => parseSince(v, now))).toEqual(['2026-11-23T11:59:30.000Z', '2026-11-23T11:50:00.000Z', '2026-11-23T10:00:00.000Z', '2026-11-22T12:00:00.000Z']);
  });

  it('reads a time, in any form Date reads, as UTC', () => {
    expect(parseSince('2026-11-23T10:00:00+02:00', now)).toBe('2026-11-23T08:00:00.000Z');
  });

  it('refuses anything else as a usage error that says what it takes', () => {
    expect(() => parseSince('yesterday', now)).toThrow(UsageError);
    expect(() => parseSince('10 minutes', now)).toThrow('--since takes a time (2026-11-23T10:00:00Z) or a duration (10m, 2h), got "10 minutes".');
  });
});
