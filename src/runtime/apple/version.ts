import { readFileSync } from 'node:fs';
import { BerthError } from '../../errors.js';

/** `container CLI version 1.2.2 (build: release, commit: 1a2b3c4)` → 1.2.2. */
export interface AppleVersion {
  text: string;
  major: number;
  minor: number;
  patch: number;
}

/** One row of version-gates.json: a command (flag null) or a flag of it, and its first release. */
export interface FlagGate {
  id: string;
  /** `create` stands for both `run` and `create`, `run` for run only; two words for subcommands (`network create`). */
  command: string;
  flag: string | null;
  since: string;
  source: string;
}

export interface BehaviourGate {
  id: string;
  since: string;
  what: string;
  source: string;
}

interface GateTable {
  minimum: { version: string; why: string; source: string };
  flags: FlagGate[];
  behaviours: BehaviourGate[];
}

/**
 * The one table of what each release has, with a source citation per row. It is data (JSON), so
 * the test double of the CLI reads the same rows as the argv builders and their test.
 */
export const VERSION_GATES: GateTable = JSON.parse(readFileSync(new URL('./version-gates.json', import.meta.url), 'utf8')) as GateTable;

/** The oldest release Berth runs on (version-gates.json says why); older ones are refused. */
export const MIN_APPLE_VERSION = VERSION_GATES.minimum.version;

/** The newest release whose source was read (docs/apple-container.md); later ones run, doctor says so. */
export const NEWEST_CHECKED_APPLE_VERSION = '1.2.2';

export function parseAppleVersion(output: string): AppleVersion | undefined {
  const match = /version (\d+)\.(\d+)\.(\d+)/.exec(output);
  if (!match) return undefined;
  const [, major, minor, patch] = match.map(Number) as [number, number, number, number];
  return { text: `${String(major)}.${String(minor)}.${String(patch)}`, major, minor, patch };
}

/** True when `version` is at least `wanted` (`"1.0.0"`). */
export function atLeast(version: AppleVersion, wanted: string): boolean {
  const [major = 0, minor = 0, patch = 0] = wanted.split('.').map(Number);
  if (version.major !== major) return version.major > major;
  if (version.minor !== minor) return version.minor > minor;
  return version.patch >= patch;
}

function gateRow(id: string): FlagGate | BehaviourGate {
  const row = VERSION_GATES.flags.find((gate) => gate.id === id) ?? VERSION_GATES.behaviours.find((gate) => gate.id === id);
  if (!row) throw new Error(`no version gate "${id}" in version-gates.json`);
  return row;
}

/** Does this release have the command, flag or behaviour `id` (a row of version-gates.json)? */
export function has(version: AppleVersion, id: string): boolean {
  return atLeast(version, gateRow(id).since);
}

/** The first release with `id`. */
export function since(id: string): string {
  return gateRow(id).since;
}

export function isSupported(version: AppleVersion): boolean {
  return atLeast(version, MIN_APPLE_VERSION);
}

/** Newer than any release whose source was read: Berth runs, doctor says it was not checked. */
export function isNewerThanChecked(version: AppleVersion): boolean {
  return atLeast(version, NEWEST_CHECKED_APPLE_VERSION) && version.text !== NEWEST_CHECKED_APPLE_VERSION;
}

export function tooOld(version: AppleVersion): BerthError {
  return new BerthError('E_UNSUPPORTED', `Apple container ${version.text} is older than ${MIN_APPLE_VERSION}, the oldest release Berth supports.`, {
    hint: `Upgrade Apple container to ${MIN_APPLE_VERSION} or later (https://github.com/apple/container/releases), then run \`container system start\`. Berth needs ${VERSION_GATES.minimum.why}.`,
    details: { version: version.text, minimum: MIN_APPLE_VERSION },
  });
}
