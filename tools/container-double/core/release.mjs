// @ts-check
// Every difference between releases of Apple's `container`, in one table. The rows for the commands,
// flags and behaviours Berth depends on are Berth's own src/runtime/apple/version-gates.json (read
// here, each with its Swift source citation), so the adapter and the double cannot disagree about a
// gate; the rows below are the rest: output shapes and texts only the double prints. Code asks
// `release.has(id)`, never compares versions itself. test/unit/container-double-release.test.ts
// checks that the two tables do not overlap and that every gated flag of the double uses its row.

import fs from 'node:fs';

/**
 * @typedef {object} ReleaseRow
 * @property {string} id
 * @property {string} since The first release that has it.
 * @property {string} [what] What the row changes (the double's own rows).
 * @property {string} [source] Where Apple's source shows it (version-gates.json rows).
 * @property {string} [command] The command words a version-gates.json flag row is about.
 * @property {string | null} [flag] Its flag (null: the command itself).
 */

/** Berth's gates, with their citations: the first release of every flag and behaviour Berth passes or relies on. */
export const GATES = /** @type {{ flags: ReleaseRow[], behaviours: ReleaseRow[] }} */ (
  JSON.parse(fs.readFileSync(new URL('../../../src/runtime/apple/version-gates.json', import.meta.url), 'utf8'))
);

/**
 * The double's own rows: what it prints differently per release (the research doc's §3.4 and the
 * per-version table of the README). Ids name a command path and what changes; none repeats a gate.
 * @type {readonly ReleaseRow[]}
 */
export const DOUBLE_ROWS = [
  // Top-level commands Berth does not pass (the ones it does are gates: `cp`).
  { id: 'network', since: '0.2.0', what: 'the network command group (also needs macOS 26)' },
  { id: 'volume', since: '0.4.0', what: 'the volume command group' },
  { id: 'prune', since: '0.9.0', what: 'container prune' },
  { id: 'system version', since: '0.12.0', what: 'system version' },
  // Options Berth does not pass.
  { id: 'create.publish-socket', since: '0.2.0', what: '--publish-socket, and publishedSockets in the configuration' },
  { id: 'create.virtualization', since: '0.3.0', what: '--virtualization' },
  { id: 'create.platform', since: '0.4.0', what: '--platform' },
  { id: 'create.ssh', since: '0.4.0', what: '--ssh' },
  { id: 'create.rosetta', since: '0.7.0', what: '--rosetta' },
  { id: 'create.read-only', since: '0.8.0', what: '--read-only, and readOnly in the configuration' },
  { id: 'create.ulimit', since: '0.9.0', what: '--ulimit (run, create, exec)' },
  { id: 'create.init-image', since: '0.10.0', what: '--init-image' },
  { id: 'create.runtime', since: '0.10.0', what: '--runtime' },
  { id: 'create.shm-size', since: '1.0.0', what: '--shm-size' },
  { id: 'create.kernel-arg', since: '1.2.0', what: '--kernel-arg' },
  { id: 'create.masked-path', since: '1.2.0', what: '--masked-path, --read-only-path, and maskedPaths/readonlyPaths in the configuration' },
  { id: 'network create.subnet-v6', since: '0.8.0', what: 'network create --subnet-v6' },
  { id: 'system status.format', since: '0.10.0', what: 'system status --format, and its FIELD/VALUE table' },
  { id: 'format.yaml', since: '0.12.0', what: '--format yaml is a valid value' },
  { id: 'format.toml', since: '1.0.0', what: '--format toml is a valid value' },
  // Checks.
  { id: 'create.name-validated', since: '1.2.0', what: 'container ID X is not a valid container ID' },
  { id: 'create.memory-minimum', since: '0.10.0', what: 'the 200 MiB memory minimum' },
  { id: 'create.publish-limit', since: '0.7.0', what: 'at most 64 --publish descriptors' },
  { id: 'network.mac', since: '0.7.0', what: '--network …,mac=, and options.macAddress in the configuration' },
  { id: 'network.mtu', since: '0.11.0', what: '--network …,mtu=, and the mtu of options and attachments' },
  // Errors.
  { id: 'errors.xpc-hint', since: '0.2.0', what: 'the `container system start` hint after an XPC failure' },
  { id: 'errors.localized', since: '0.10.0', what: 'errors print their description only (containerization 0.26); stop/kill report unknown IDs; delete fails per ID' },
  // Output shapes.
  { id: 'json.sorted-keys', since: '1.0.0', what: 'JSON keys sorted (before: unordered, shuffled per process)' },
  { id: 'json.iso-dates', since: '1.0.0', what: 'dates as ISO 8601 (before: seconds since 2001)' },
  { id: 'json.managed-resources', since: '1.0.0', what: 'ManagedContainer-style JSON (id, configuration, status) for containers, images, networks and volumes; creationDate/stopSignal/shmSize/cpuOverhead in the configuration' },
  { id: 'json.network-objects', since: '0.2.0', what: 'configuration.networks as objects with options (before: names, plus configuration.hostname)' },
  { id: 'json.ipv4-attachments', since: '0.8.0', what: 'ipv4Address/ipv4Gateway attachments and ipv4Subnet network status (before: address/gateway)' },
  { id: 'json.attachment-variant', since: '1.1.0', what: 'variant on attachments' },
  { id: 'inspect.strict', since: '1.0.0', what: 'inspect is pretty and fails naming what is not found (before: compact, prints what was found)' },
  { id: 'list.json-honours-all', since: '0.10.0', what: 'list --format json shows stopped containers only with --all' },
  { id: 'tables.1x', since: '1.0.0', what: 'the IP column of list, network list without STATE' },
  { id: 'image list.full-size', since: '0.10.0', what: 'fullSize in image list --format json' },
  { id: 'image list.json-flags', since: '1.0.0', what: 'image list --format json accepts --quiet and --verbose' },
  { id: 'system start.progress-stderr', since: '1.0.0', what: 'system start progress on stderr, with the machine API step' },
  { id: 'system status.roots', since: '0.4.0', what: 'system status prints the roots and the apiserver version' },
  { id: 'machine-containers', since: '1.0.0', what: 'containers of the machine plugin are not containers' },
  // build (Sources/ContainerCommands/BuildCommand.swift at each tag).
  { id: 'build.pull', since: '0.10.0', what: 'build --pull (@0.10.0 line 135; absent @0.9.0)' },
  { id: 'build.secret', since: '0.11.0', what: 'build --secret (@0.11.0 line 124; absent @0.10.0)' },
  { id: 'build.ssh', since: '1.2.1', what: 'build --ssh (@1.2.1 line 132; absent @1.2.0)' },
  { id: 'build.dockerfile-validated', since: '0.11.0', what: 'a missing --file is a usage error before the build, `dockerfile does not exist <path>` (validate(), @0.11.0 line 470); before, the read fails inside the build' },
  { id: 'build.dockerfile-size-limit', since: '1.0.0', what: 'a Dockerfile of 16 KiB or more is refused before the build (#735; @1.0.0 line 257)' },
  { id: 'build.names-stdout', since: '1.0.0', what: 'stdout ends with the built names, one a line (@1.0.0 line 391); before, `Successfully built <names, comma-separated>` (@0.9.0 line 354)' },
];

/** @type {ReadonlyMap<string, ReleaseRow>} */
export const ROWS = new Map([...GATES.flags, ...GATES.behaviours, ...DOUBLE_ROWS].map((row) => [row.id, row]));

/**
 * @param {string} text
 * @returns {[number, number, number] | null}
 */
export function parseVersion(text) {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(text);
  if (!m) return null;
  return [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
}

/**
 * @param {readonly number[]} have
 * @param {readonly number[]} want
 */
function atLeast(have, want) {
  for (let i = 0; i < 3; i++) {
    if (have[i] !== want[i]) return (have[i] ?? 0) > (want[i] ?? 0);
  }
  return true;
}

/**
 * @typedef {object} Release
 * @property {string} version The emulated release.
 * @property {(id: string) => boolean} has True when the emulated release has the row `id`.
 */

/**
 * The release the double emulates (an unparsable version counts as 1.2.2).
 * @param {string} version
 * @returns {Release}
 */
export function releaseFor(version) {
  const parts = parseVersion(version) ?? [1, 2, 2];
  return {
    version,
    has(id) {
      const row = ROWS.get(id);
      if (!row) throw new Error(`container-double: no release row ${id}`);
      const since = parseVersion(row.since);
      if (!since) throw new Error(`container-double: release row ${id} has no version`);
      return atLeast(parts, since);
    },
  };
}
