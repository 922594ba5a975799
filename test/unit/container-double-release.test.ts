/**
 * The Apple test double's release table (tools/container-double/core/release.mjs) against Berth's
 * version-gates.json: one table, so the double and the adapter cannot disagree about when a command
 * or flag appears. Every gated flag of the double must use the gate's own row; the double's own rows
 * may not restate a gate; every `since`/`until` a command spec names must be a row.
 */
import { describe, expect, it } from 'vitest';
import { ALIASES, DISPATCH } from '../../tools/container-double/main.mjs';
import { DOUBLE_ROWS, GATES, parseVersion, releaseFor, ROWS } from '../../tools/container-double/core/release.mjs';
import type { Command, Group } from '../../tools/container-double/commands/command.mjs';

const isGroup = (entry: Command | Group): entry is Group => 'group' in entry;

/** Every command of the double with the words that reach it and the rows that gate it (group, then command). */
function everyCommand(): { words: string; command: Command; gates: string[] }[] {
  const all: { words: string; command: Command; gates: string[] }[] = [];
  for (const [word, entry] of Object.entries(DISPATCH)) {
    if (!isGroup(entry)) {
      all.push({ words: word, command: entry, gates: entry.since ? [entry.since] : [] });
      continue;
    }
    for (const [sub, command] of Object.entries(entry.commands)) {
      all.push({ words: `${word} ${sub}`, command, gates: [entry.since, command.since].filter((g): g is string => g !== undefined) });
    }
  }
  return all;
}

/** The commands a row of version-gates.json speaks of: `create` rows apply to run and create alike. */
function commandsFor(rowCommand: string): { words: string; command: Command; gates: string[] }[] {
  const [first = '', ...rest] = rowCommand.split(' ');
  const words = [ALIASES[first] ?? first, ...rest].join(' ');
  const wanted = words === 'create' ? ['create', 'run'] : [words];
  return everyCommand().filter((c) => wanted.includes(c.words));
}

/** Orders two releases. */
function compare(a: string, b: string): number {
  const x = parseVersion(a) ?? [0, 0, 0];
  const y = parseVersion(b) ?? [0, 0, 0];
  return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
}

/** The first release a list of rows allows (the latest of their `since`). */
function firstRelease(gates: string[]): string {
  return gates.map((g) => ROWS.get(g)?.since ?? 'missing').reduce((a, b) => (compare(a, b) >= 0 ? a : b), '0.1.0');
}

describe('container double: one release table with version-gates.json', () => {
  it('the double rows restate no gate, and every row names a release', () => {
    const gateIds = new Set([...GATES.flags, ...GATES.behaviours].map((row) => row.id));
    for (const row of DOUBLE_ROWS) {
      expect(gateIds.has(row.id), `${row.id} is a gate already`).toBe(false);
      expect(parseVersion(row.since), row.id).not.toBeNull();
      expect(row.what, row.id).toBeTruthy();
    }
    expect(new Set(DOUBLE_ROWS.map((row) => row.id)).size).toBe(DOUBLE_ROWS.length);
    expect(ROWS.size).toBe(gateIds.size + DOUBLE_ROWS.length);
  });

  it('every since/until in a command spec is a row of the table', () => {
    for (const { words, command, gates } of everyCommand()) {
      for (const gate of gates) expect(ROWS.has(gate), `${words}: ${gate}`).toBe(true);
      for (const option of command.spec.options) {
        for (const ref of [option.since, option.until]) {
          if (ref !== undefined) expect(ROWS.has(ref), `${words} ${option.names.join('/')}: ${ref}`).toBe(true);
        }
      }
    }
  });

  const flagRows = GATES.flags.flatMap((row) => (row.command ? [{ ...row, command: row.command, flag: row.flag ?? null }] : []));

  it.each(flagRows.filter((row) => row.flag !== null).map((row) => [row.id, row] as const))(
    'gated flag %s: the double gates it by that very row',
    (_id, row) => {
      const commands = commandsFor(row.command).filter((c) => c.command.spec.options.some((o) => o.names.includes(row.flag ?? '')));
      expect(commands.length, `no command of the double takes ${row.command} ${row.flag}`).toBeGreaterThan(0);
      for (const { command, words } of commands) {
        const option = command.spec.options.find((o) => o.names.includes(row.flag ?? ''));
        if (row.since === '0.1.0') expect(option?.since, words).toBeUndefined();
        else expect(option?.since, words).toBe(row.id);
      }
    },
  );

  it.each(flagRows.filter((row) => row.flag === null).map((row) => [row.id, row] as const))(
    'gated command %s: the double has it from exactly that release',
    (_id, row) => {
      const commands = commandsFor(row.command);
      expect(commands.length, `the double has no ${row.command}`).toBeGreaterThan(0);
      for (const { gates, words } of commands) expect(firstRelease(gates), words).toBe(row.since);
    },
  );

  it('asks by row, and an unknown row is a bug, not a silent false', () => {
    expect(releaseFor('0.12.3').has('create.cap-add')).toBe(true);
    expect(releaseFor('0.11.0').has('create.cap-add')).toBe(false);
    expect(releaseFor('1.2.2').has('json.sorted-keys')).toBe(true);
    expect(releaseFor('0.12.3').has('json.sorted-keys')).toBe(false);
    expect(() => releaseFor('1.2.2').has('no.such.row')).toThrow(/no release row no.such.row/);
  });
});
