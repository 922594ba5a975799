import { BerthError } from '../../errors.js';
import { ProcessError } from '../../process/process-error.js';
import { conflict, notFound, notRunning, unavailable } from '../errors.js';
import type { Subject } from '../command.js';

/*
 * Apple `container` error texts (research doc §4). The doc's driver rule: decide on the exit code,
 * classify by stable substrings anywhere in stderr, ignore the wrapper text and quoting (0.x printed
 * `Error: notFound: "…"`, 1.x `Error: …` and multi-line aggregates).
 */
const SYSTEM_DOWN = /XPC connection error|container system start/;
/**
 * macOS 15 registers no `network` command (Sources/ContainerCommands/Application.swift@1.2.2 line 224,
 * `guard #available(macOS 26)`), so `network …` falls through to the plugin lookup, whose text also
 * says "start them with: container system start" (DefaultCommand.swift@0.9.0 line 84, @1.2.2 line 87).
 * Checked before SYSTEM_DOWN: starting the system would not help.
 */
const NETWORK_PLUGIN_MISSING = /Plugin 'container-network' not found/;
/*
 * Each pattern below matches a message at these sources (apple/container; release@tag line):
 * - container not found: ContainerInspect.swift@1.2.2 l.49 ("container not found: <ids>", 1.x);
 *   ClientContainer.swift@0.9.0 l.136 / ContainerClient.swift@1.2.2 l.116 ("get failed: container <id> not found");
 *   ContainersService.swift@0.9.0 l.662, @1.2.2 l.1131 ("container with ID <id> not found");
 *   ContainerDelete.swift@0.9.0 l.77 ("failed to delete one or more containers", 0.9 only).
 * - exists: ContainerRun.swift@0.9.0 l.92, @1.2.2 l.93 ("container with id <id> already exists");
 *   ContainersService.swift@0.9.0 l.202, @1.2.2 l.289 ("container already exists: <id>");
 *   NetworksService.swift@1.2.2 l.162 ("network <id> already exists").
 * - not running: ProcessUtils.swift@0.9.0 l.26, @1.2.2 l.27 ("container <id> is not running").
 * - delete running: ContainerDelete.swift@0.9.0 l.118 ("delete failed for one or more containers").
 * - network missing: ClientNetwork.swift@0.9.0 l.77, NetworkClient.swift@1.2.2 l.116 ("network <id> not found");
 *   NetworkInspect.swift@1.2.2 l.46 ("network not found: "); NetworkDelete.swift@0.9.0 l.86, @1.2.2 l.87.
 * - invalid: ContainerCreate.swift@1.2.2 l.75 (not a valid container ID); ContainersService.swift@0.12.3
 *   l.343 (memory minimum); Parser.swift@0.9.0 l.223 (label), l.585/596 (publish), l.415/418 (path
 *   does not exist / is not a directory); NetworkConfiguration.swift@1.2.2 l.142 (network name).
 */
const CONTAINER_MISSING = /container not found: |get failed: container \S+ not found|container with ID \S+ not found|failed to delete one or more containers/;
const ALREADY_EXISTS = /container with id \S+ already exists|container already exists: |network \S+ already exists/;
const NOT_RUNNING = /container \S+ is not running/;
/** `container <id> is <status> and can not be deleted`: ContainersService.swift@0.9.0 line 483, @1.2.2 line 839 (running or stopping). */
const DELETE_RUNNING = /is (?:running|stopping) and can not be deleted|delete failed for one or more containers/;
/**
 * `image inspect` of a missing image: "image not found: <refs>" from 1.0 (ImageInspect.swift@1.0.0
 * line 49); "Image not found" inside an InspectError from 0.9 to 0.12 (ImageInspect.swift@0.9.0 line
 * 58, @0.12.3 line 59). Berth checks images itself before create, so no pull error reaches here.
 */
const IMAGE_MISSING = /image not found/i;
const NETWORK_MISSING = /network \S+ not found|network not found: |failed to delete one or more networks/;
const INVALID = /is not a valid container ID|minimum memory amount allowed|invalid label format|invalid publish|path '[^']*' (?:does not exist|is not a directory)|invalid network name/;

export const SYSTEM_HINT = 'Start it with `container system start` (or `berth doctor --fix`), then try again.';

export const NETWORKS_NEED_MACOS_26 = 'Apple container networks need macOS 26: on macOS 15 there is only the default network, so egress control is unavailable.';

/** True when stderr says the container system (apiserver) is not running. */
export function isSystemDown(stderr: string): boolean {
  return SYSTEM_DOWN.test(stderr) && !NETWORK_PLUGIN_MISSING.test(stderr);
}

export function classifyAppleError(error: unknown, subject: Subject): unknown {
  if (!(error instanceof ProcessError)) return error;
  if (error.failure === 'not-found') {
    return unavailable('apple', `\`${error.command[0] ?? 'container'}\` is not installed.`, "Install Apple's container CLI, or point BERTH_CONTAINER_BIN at it.", error);
  }
  if (error.failure !== 'exit') return error;
  const text = error.stderr;
  if (NETWORK_PLUGIN_MISSING.test(text)) {
    return new BerthError('E_UNSUPPORTED', `apple: ${NETWORKS_NEED_MACOS_26}`, { cause: error, hint: 'Upgrade to macOS 26, or run the workspace without egress rules.' });
  }
  if (SYSTEM_DOWN.test(text)) return unavailable('apple', 'the container system is not running.', SYSTEM_HINT, error);
  if (DELETE_RUNNING.test(text) && subject.container !== undefined) {
    return conflict('apple', subject.container, `container "${subject.container}" is running.`, 'Stop it first, or remove with force.');
  }
  if (ALREADY_EXISTS.test(text)) {
    const name = subject.container ?? subject.network ?? '';
    return conflict('apple', name, `the name "${name}" is already in use.`, 'Choose another name, or remove the existing one if it is yours.');
  }
  if (NOT_RUNNING.test(text) && subject.container !== undefined) return notRunning('apple', subject.container);
  if (IMAGE_MISSING.test(text) && subject.image !== undefined) return notFound('apple', 'image', subject.image);
  if (NETWORK_MISSING.test(text) && subject.network !== undefined) return notFound('apple', 'network', subject.network);
  if (CONTAINER_MISSING.test(text) && subject.container !== undefined) return notFound('apple', 'container', subject.container);
  if (INVALID.test(text)) return new BerthError('E_INVALID_INPUT', `apple: ${firstErrorLine(text)}`, { cause: error, hint: 'Check the value named in the message.' });
  return new BerthError('E_RUNTIME_FAILED', `apple failed: ${firstErrorLine(text) || error.message}`, {
    cause: error,
    hint: 'See the message above; `berth doctor` checks the container system.',
  });
}

/** exec passes the command's exit code through; only the CLI's own `Error:` lines mean Berth failed. */
export function classifyAppleExecFailure(container: string, exitCode: number, stderr: string): Error | undefined {
  if (exitCode !== 1) return undefined;
  if (/^Error: .*(?:XPC connection error)/m.test(stderr)) return unavailable('apple', 'the container system is not running.', SYSTEM_HINT);
  if (/^Error: .*(?:get failed: container \S+ not found|container not found: )/m.test(stderr)) return notFound('apple', 'container', container);
  if (/^Error: .*container \S+ is not running/m.test(stderr)) return notRunning('apple', container);
  return undefined;
}

function firstErrorLine(text: string): string {
  const line = text.split('\n').find((l) => l.trim() !== '') ?? '';
  return line.replace(/^Error: /, '').trim();
}
