import { describe, expect, it } from 'vitest';
import { BerthError } from '../../src/errors.js';
import { parseManifest, type ManifestProblem } from '../../src/orchestrator/manifest.js';

/**
 * A corpus of malformed berth.yaml files, each with every problem the parser must report for it:
 * line, column, dotted path and the exact message. Every case goes through one `it.each`, so a new
 * malformed file is one more entry here. The expectations were taken from the parser's output and
 * read one by one; messages judged unclear or pointing at the wrong place are left out on purpose.
 */

const FILE = '/tmp/project/berth.yaml';

/** [line, column, path, message] */
type Expected = readonly [line: number, column: number, path: string, message: string];

interface Case {
  name: string;
  yaml: string;
  problems: readonly Expected[];
}

/** A file from its lines. */
const y = (...lines: string[]): string => `${lines.join('\n')}\n`;
/** A manifest with one workspace `web`; the lines given start at line 4, indented by the caller. */
const web = (...lines: string[]): string => y('version: 1', 'workspaces:', '  web:', ...lines);
/** Workspace `web` with dev server `api` (command `npm start`); the lines given start at line 7. */
const api = (...lines: string[]): string => web('    devServers:', '      api:', '        command: npm start', ...lines);
/** Dev server `api` with a health probe; the lines given start at line 8. */
const health = (...lines: string[]): string => api('        health:', ...lines);

const WEB = 'workspaces.web';
const API = 'workspaces.web.devServers.api';
const HEALTH = `${API}.health`;

const TOP_KEYS = 'known keys here: version, budget, workspaces';
const WORKSPACE_KEYS = 'known keys here: root, image, runtime, sandbox, mounts, env, cpus, memory, previewPorts, user, egress, restart, health, devServers, devcontainer, runInitializeCommand, allowPrivileged';
const EGRESS_KEYS = 'known keys here: allow, deny';
const DEV_SERVER_KEYS = 'known keys here: command, cwd, port, env, health, restart';
const HEALTH_KEYS = 'known keys here: exec, http, tcp, port, interval, timeout, retries';
const MOUNT_KEYS = 'known keys here: source, readOnly';

const VERSION = 'must be the number 1, unquoted (the only manifest version so far)';
const WORKSPACES = 'must be a map of workspace id: settings';
const WORKSPACE_ID = 'workspace ids are 1-63 lower-case letters, digits or "-", starting with a letter or digit';
const DUPLICATE = 'a key appears twice in the same map; keep one';
const ROOT = 'must be a folder (relative to this file, or absolute)';
const IMAGE = 'must be an image reference such as node:22';
const RUNTIME = 'must be one of apple, docker, podman, host (or use sandbox: vm | shared-kernel)';
const SANDBOX = "must be auto, on or off (host mode's bubblewrap sandbox; off runs it unconfined), or vm or shared-kernel (which kind of container runtime)";
const MOUNT = 'must be a path (optionally ending in :ro) or { source, readOnly }';
const ENV_MAP = 'must be a map of NAME: value';
const ENV_VALUE = 'env values must be strings: quote numbers and booleans';
const CPUS = 'must be a number of CPUs, such as 2';
const CPUS_POSITIVE = 'must be more than 0';
const MEMORY = 'must be a size such as 512m or 2g (or a whole number of bytes)';
const PATTERNS = 'must be a list of patterns';
const RESTART = 'must be one of no, on-failure, always';
const COMMAND = 'must be a command: a list such as [npm, run, dev], or one string run by sh -c';
const PORT_RANGE = 'must be a port from 1 to 65535';
const DEV_SERVER_NAME = 'dev server names are lower-case letters, digits, ".", "_" or "-"';
const ONE_PROBE = 'needs exactly one of exec, http or tcp';
const HTTP_PATH = 'must be a path starting with /, such as /health';
const DURATION = 'must be a duration such as 500ms, 10s or 2m';
const RETRIES = 'must be a whole number from 0 to 100';

const cases: Case[] = [
  // ---- YAML syntax and duplicate keys: reported alone, before any schema check
  {
    name: 'syntax: a mapping item indented less than its siblings',
    yaml: web('    image: node:22', '   cpus: 2'),
    problems: [[5, 1, '', 'YAML syntax: All mapping items must start at the same column']],
  },
  {
    name: 'syntax: tab indentation, one problem per line',
    yaml: y('version: 1', 'workspaces:', '\tweb:', '\t\timage: node'),
    problems: [
      [3, 1, '', 'YAML syntax: Tabs are not allowed as indentation'],
      [4, 1, '', 'YAML syntax: Tabs are not allowed as indentation'],
    ],
  },
  {
    name: 'syntax: a stray closing bracket',
    yaml: web('    mounts: [a, b]]'),
    problems: [[4, 19, '', 'YAML syntax: Unexpected flow-seq-end token in YAML stream: "]"']],
  },
  {
    name: 'duplicate key at the top level',
    yaml: y('version: 1', 'version: 1', 'workspaces: {}'),
    problems: [[2, 1, '', DUPLICATE]],
  },
  {
    name: 'duplicate key inside a workspace',
    yaml: web('    cpus: 1', '    image: x', '    cpus: 2'),
    problems: [[6, 5, '', DUPLICATE]],
  },
  {
    name: 'duplicate workspace id',
    yaml: y('version: 1', 'workspaces:', '  web: {}', '  web: {}'),
    problems: [[4, 3, '', DUPLICATE]],
  },
  {
    name: 'duplicate dev server name',
    yaml: web('    devServers:', '      api: { command: a }', '      api: { command: b }'),
    problems: [[6, 7, '', DUPLICATE]],
  },

  // ---- The file as a whole
  {
    name: 'empty file',
    yaml: '',
    problems: [
      [1, 1, 'version', `missing "version": ${VERSION}`],
      [1, 1, 'workspaces', `missing "workspaces": ${WORKSPACES}`],
    ],
  },
  {
    name: 'a file with only a comment',
    yaml: y('# nothing here yet'),
    problems: [
      [1, 1, 'version', `missing "version": ${VERSION}`],
      [1, 1, 'workspaces', `missing "workspaces": ${WORKSPACES}`],
    ],
  },
  {
    name: 'version missing',
    yaml: y('workspaces:', '  web: {}'),
    problems: [[1, 1, 'version', `missing "version": ${VERSION}`]],
  },
  {
    name: 'version 2',
    yaml: y('version: 2', 'workspaces: {}'),
    problems: [[1, 10, 'version', VERSION]],
  },
  {
    name: 'workspaces missing',
    yaml: y('version: 1'),
    problems: [[1, 1, 'workspaces', `missing "workspaces": ${WORKSPACES}`]],
  },
  {
    name: 'workspaces is a list',
    yaml: y('version: 1', 'workspaces:', '  - web'),
    problems: [[3, 3, 'workspaces', WORKSPACES]],
  },
  {
    name: 'workspaces is empty (null)',
    yaml: y('version: 1', 'workspaces:'),
    problems: [[2, 12, 'workspaces', WORKSPACES]],
  },
  {
    name: 'workspaces is a !!set',
    yaml: y('version: 1', 'workspaces: !!set { a, b }'),
    problems: [[2, 19, 'workspaces', WORKSPACES]],
  },

  // ---- Workspace ids
  {
    name: 'workspace id in upper case',
    yaml: y('version: 1', 'workspaces:', '  Web: {}'),
    problems: [[3, 3, 'workspaces.Web', WORKSPACE_ID]],
  },
  {
    name: 'workspace id with an underscore',
    yaml: y('version: 1', 'workspaces:', '  my_web: {}'),
    problems: [[3, 3, 'workspaces.my_web', WORKSPACE_ID]],
  },
  {
    name: 'workspace id of 64 characters',
    yaml: y('version: 1', 'workspaces:', `  ${'a'.repeat(64)}: {}`),
    problems: [[3, 3, `workspaces.${'a'.repeat(64)}`, WORKSPACE_ID]],
  },
  {
    name: 'workspace id with a leading dash',
    yaml: y('version: 1', 'workspaces:', '  -web: {}'),
    problems: [[3, 3, 'workspaces.-web', WORKSPACE_ID]],
  },
  {
    name: 'workspace id with a leading dash, quoted',
    yaml: y('version: 1', 'workspaces:', '  "-web": {}'),
    problems: [[3, 3, 'workspaces.-web', WORKSPACE_ID]],
  },

  // ---- Unknown keys, at every level, with the keys that are known there
  {
    name: 'unknown key at the top level',
    yaml: y('version: 1', 'workspace: {}', 'workspaces: {}'),
    problems: [[2, 1, 'workspace', `unknown key "workspace"; ${TOP_KEYS}`]],
  },
  {
    name: 'unknown key __proto__ at the top level',
    yaml: y('version: 1', '__proto__: { polluted: true }', 'workspaces: {}'),
    problems: [[2, 1, '__proto__', `unknown key "__proto__"; ${TOP_KEYS}`]],
  },
  {
    name: 'unknown key in a workspace',
    yaml: web('    imgae: node'),
    problems: [[4, 5, `${WEB}.imgae`, `unknown key "imgae"; ${WORKSPACE_KEYS}`]],
  },
  {
    name: 'unknown key in egress',
    yaml: web('    egress:', '      allows: [a.com]'),
    problems: [[5, 7, `${WEB}.egress.allows`, `unknown key "allows"; ${EGRESS_KEYS}`]],
  },
  {
    name: 'unknown key in a dev server',
    yaml: api('        prot: 3000'),
    problems: [[7, 9, `${API}.prot`, `unknown key "prot"; ${DEV_SERVER_KEYS}`]],
  },
  {
    name: 'unknown key in a health probe',
    yaml: health('          tcp: 3000', '          intervall: 5s'),
    problems: [[9, 11, `${HEALTH}.intervall`, `unknown key "intervall"; ${HEALTH_KEYS}`]],
  },
  {
    name: 'unknown key in a mount object (wrong case)',
    yaml: web('    mounts:', '      - source: ./data', '        readonly: true'),
    problems: [[6, 9, `${WEB}.mounts.0.readonly`, `unknown key "readonly"; ${MOUNT_KEYS}`]],
  },
  {
    name: 'unknown key in a complete mount object',
    yaml: web('    mounts:', '      - source: ./x', '        readOnly: true', '        extra: 1'),
    problems: [[7, 9, `${WEB}.mounts.0.extra`, `unknown key "extra"; ${MOUNT_KEYS}`]],
  },

  // ---- Workspace fields of the wrong type
  { name: 'root is a number', yaml: web('    root: 42'), problems: [[4, 11, `${WEB}.root`, ROOT]] },
  { name: 'root is empty (null)', yaml: web('    root:'), problems: [[4, 10, `${WEB}.root`, ROOT]] },
  { name: 'root is a list', yaml: web('    root: [a]'), problems: [[4, 11, `${WEB}.root`, ROOT]] },
  { name: 'image is a number', yaml: web('    image: 22'), problems: [[4, 12, `${WEB}.image`, IMAGE]] },
  { name: 'image is an empty string', yaml: web('    image: ""'), problems: [[4, 12, `${WEB}.image`, IMAGE]] },
  { name: 'runtime not in the enum', yaml: web('    runtime: kubernetes'), problems: [[4, 14, `${WEB}.runtime`, RUNTIME]] },
  { name: 'runtime in the wrong case', yaml: web('    runtime: Docker'), problems: [[4, 14, `${WEB}.runtime`, RUNTIME]] },
  { name: 'sandbox not in the enum', yaml: web('    sandbox: gvisor'), problems: [[4, 14, `${WEB}.sandbox`, SANDBOX]] },
  { name: 'sandbox in the wrong case', yaml: web('    sandbox: VM'), problems: [[4, 14, `${WEB}.sandbox`, SANDBOX]] },
  { name: 'mounts is a string, not a list', yaml: web('    mounts: ./src'), problems: [[4, 13, `${WEB}.mounts`, 'must be a list of mounts']] },
  {
    name: 'a mount that is a number',
    yaml: web('    mounts:', '      - ./ok', '      - 42'),
    problems: [[6, 9, `${WEB}.mounts.1`, MOUNT]],
  },
  {
    name: 'a mount that is an empty string',
    yaml: web('    mounts:', '      - ""'),
    problems: [[5, 9, `${WEB}.mounts.0`, 'must be a path, optionally ending in :ro']],
  },
  {
    name: 'a mount object without source',
    yaml: web('    mounts:', '      - readOnly: true'),
    problems: [[5, 9, `${WEB}.mounts.0`, MOUNT]],
  },
  { name: 'env is a list', yaml: web('    env: [A=1]'), problems: [[4, 10, `${WEB}.env`, ENV_MAP]] },
  { name: 'env is a string', yaml: web('    env: A=1'), problems: [[4, 10, `${WEB}.env`, ENV_MAP]] },
  { name: 'env value is a number', yaml: web('    env:', '      PORT: 3000'), problems: [[5, 13, `${WEB}.env.PORT`, ENV_VALUE]] },
  { name: 'env value is a boolean', yaml: web('    env:', '      DEBUG: true'), problems: [[5, 14, `${WEB}.env.DEBUG`, ENV_VALUE]] },
  { name: 'env value is empty (null)', yaml: web('    env:', '      DEBUG:'), problems: [[5, 13, `${WEB}.env.DEBUG`, ENV_VALUE]] },
  { name: 'env value is a list', yaml: web('    env:', '      PATHS: [a, b]'), problems: [[5, 14, `${WEB}.env.PATHS`, ENV_VALUE]] },
  { name: 'cpus is a word', yaml: web('    cpus: two'), problems: [[4, 11, `${WEB}.cpus`, CPUS]] },
  { name: 'cpus is a boolean', yaml: web('    cpus: true'), problems: [[4, 11, `${WEB}.cpus`, CPUS]] },
  { name: 'cpus is infinite', yaml: web('    cpus: .inf'), problems: [[4, 11, `${WEB}.cpus`, CPUS]] },
  { name: 'cpus is NaN', yaml: web('    cpus: .nan'), problems: [[4, 11, `${WEB}.cpus`, CPUS]] },
  { name: 'cpus is zero', yaml: web('    cpus: 0'), problems: [[4, 11, `${WEB}.cpus`, CPUS_POSITIVE]] },
  { name: 'cpus is negative', yaml: web('    cpus: -1'), problems: [[4, 11, `${WEB}.cpus`, CPUS_POSITIVE]] },
  { name: 'memory is a word', yaml: web('    memory: lots'), problems: [[4, 13, `${WEB}.memory`, MEMORY]] },
  { name: 'memory with a spelled-out unit', yaml: web('    memory: 2 gigs'), problems: [[4, 13, `${WEB}.memory`, MEMORY]] },
  { name: 'memory with an unknown unit', yaml: web('    memory: 2x'), problems: [[4, 13, `${WEB}.memory`, MEMORY]] },
  { name: 'memory is a negative size', yaml: web('    memory: -2g'), problems: [[4, 13, `${WEB}.memory`, MEMORY]] },
  { name: 'memory is a fraction of a byte', yaml: web('    memory: 1.5'), problems: [[4, 13, `${WEB}.memory`, MEMORY]] },
  { name: 'memory is a boolean', yaml: web('    memory: true'), problems: [[4, 13, `${WEB}.memory`, MEMORY]] },
  { name: 'previewPorts above 64', yaml: web('    previewPorts: 65'), problems: [[4, 19, `${WEB}.previewPorts`, 'must be a whole number from 0 to 64']] },
  { name: 'previewPorts is a word', yaml: web('    previewPorts: many'), problems: [[4, 19, `${WEB}.previewPorts`, 'must be a whole number from 0 to 64']] },
  { name: 'restart not in the enum', yaml: web('    restart: unless-stopped'), problems: [[4, 14, `${WEB}.restart`, RESTART]] },
  { name: 'restart is a boolean', yaml: web('    restart: false'), problems: [[4, 14, `${WEB}.restart`, RESTART]] },

  // ---- Egress
  {
    name: 'egress allow is a string, not a list',
    yaml: web('    egress:', '      allow: registry.npmjs.org'),
    problems: [[5, 14, `${WEB}.egress.allow`, PATTERNS]],
  },
  {
    name: 'egress deny is a map',
    yaml: web('    egress:', '      deny: { host: a.com }'),
    problems: [[5, 13, `${WEB}.egress.deny`, PATTERNS]],
  },
  {
    name: 'egress allow is empty (null)',
    yaml: web('    egress:', '      allow:'),
    problems: [[5, 13, `${WEB}.egress.allow`, PATTERNS]],
  },
  {
    name: 'egress pattern that is a URL',
    yaml: web('    egress:', '      allow:', '        - https://registry.npmjs.org/'),
    problems: [
      [6, 11, `${WEB}.egress.allow.0`, 'Invalid egress pattern "https://registry.npmjs.org/": that is a URL; give the host alone (registry.npmjs.org), or host:port.'],
    ],
  },
  {
    name: 'egress pattern with a port above 65535',
    yaml: web('    egress:', '      allow:', '        - api.example.com:99999'),
    problems: [[6, 11, `${WEB}.egress.allow.0`, 'Invalid egress pattern "api.example.com:99999": port 99999 is not 1-65535.']],
  },
  {
    name: 'egress pattern with a port that is a word',
    yaml: web('    egress:', '      deny:', '        - api.example.com:https'),
    problems: [[6, 11, `${WEB}.egress.deny.0`, 'Invalid egress pattern "api.example.com:https": port https is not 1-65535.']],
  },
  {
    name: 'egress IPv4 CIDR prefix too long',
    yaml: web('    egress:', '      allow:', '        - 10.0.0.0/33'),
    problems: [[6, 11, `${WEB}.egress.allow.0`, 'Invalid egress pattern "10.0.0.0/33": prefix /33 is too long.']],
  },
  {
    name: 'egress CIDR with an impossible address',
    yaml: web('    egress:', '      allow:', '        - 10.0.0.300/8'),
    problems: [[6, 11, `${WEB}.egress.allow.0`, 'Invalid egress pattern "10.0.0.300/8": not a host name, *.suffix, IP address or CIDR block.']],
  },
  {
    name: 'egress pattern with a space',
    yaml: web('    egress:', '      allow:', '        - "foo bar"'),
    problems: [[6, 11, `${WEB}.egress.allow.0`, 'Invalid egress pattern "foo bar": not a host name, *.suffix, IP address or CIDR block.']],
  },
  {
    name: 'two bad egress patterns in one flow list (IPv6 prefix, port 0)',
    yaml: web('    egress:', '      deny: ["fd00::/200", "*.example.com:0"]'),
    problems: [
      [5, 14, `${WEB}.egress.deny.0`, 'Invalid egress pattern "fd00::/200": prefix /200 is too long.'],
      [5, 28, `${WEB}.egress.deny.1`, 'Invalid egress pattern "*.example.com:0": port 0 is not 1-65535.'],
    ],
  },

  // ---- Dev servers
  {
    name: 'dev server without a command',
    yaml: web('    devServers:', '      api:', '        port: 3000'),
    problems: [[6, 9, `${API}.command`, `missing "command": ${COMMAND}`]],
  },
  {
    name: 'dev server command is a number',
    yaml: web('    devServers:', '      api:', '        command: 42'),
    problems: [[6, 18, `${API}.command`, COMMAND]],
  },
  {
    name: 'dev server command is a map',
    yaml: web('    devServers:', '      api:', '        command: { run: dev }'),
    problems: [[6, 18, `${API}.command`, COMMAND]],
  },
  { name: 'dev server port 0', yaml: api('        port: 0'), problems: [[7, 15, `${API}.port`, PORT_RANGE]] },
  { name: 'dev server port 70000', yaml: api('        port: 70000'), problems: [[7, 15, `${API}.port`, PORT_RANGE]] },
  { name: 'dev server port is a string', yaml: api('        port: "3000"'), problems: [[7, 15, `${API}.port`, 'must be a port number']] },
  { name: 'dev server port is a fraction', yaml: api('        port: 3000.5'), problems: [[7, 15, `${API}.port`, 'must be a whole port number']] },
  { name: 'dev server cwd is a number', yaml: api('        cwd: 1'), problems: [[7, 14, `${API}.cwd`, 'must be a folder inside the workspace']] },
  {
    name: 'dev server env value is a number',
    yaml: api('        env:', '          PORT: 3000'),
    problems: [[8, 17, `${API}.env.PORT`, ENV_VALUE]],
  },
  { name: 'dev server restart not in the enum', yaml: api('        restart: sometimes'), problems: [[7, 18, `${API}.restart`, RESTART]] },
  {
    name: 'dev server name in upper case',
    yaml: web('    devServers:', '      Api:', '        command: npm start'),
    problems: [[5, 7, 'workspaces.web.devServers.Api', DEV_SERVER_NAME]],
  },
  {
    name: 'dev server name with a space',
    yaml: web('    devServers:', '      "my api":', '        command: npm start'),
    problems: [[5, 7, 'workspaces.web.devServers.my api', DEV_SERVER_NAME]],
  },

  // ---- Health probes
  { name: 'health with none of exec/http/tcp', yaml: health('          interval: 5s'), problems: [[8, 11, HEALTH, ONE_PROBE]] },
  { name: 'health is an empty map', yaml: api('        health: {}'), problems: [[7, 17, HEALTH, ONE_PROBE]] },
  { name: 'health with both http and tcp', yaml: health('          http: /health', '          tcp: 3000'), problems: [[8, 11, HEALTH, ONE_PROBE]] },
  {
    name: 'health with exec, http and tcp',
    yaml: health('          exec: [curl, -f, localhost]', '          http: /health', '          tcp: 3000'),
    problems: [[8, 11, HEALTH, ONE_PROBE]],
  },
  { name: 'health http without a leading /', yaml: health('          http: health'), problems: [[8, 17, `${HEALTH}.http`, HTTP_PATH]] },
  { name: 'health http is a URL', yaml: health('          http: http://localhost:3000/health'), problems: [[8, 17, `${HEALTH}.http`, HTTP_PATH]] },
  { name: 'health http is a number', yaml: health('          http: 200'), problems: [[8, 17, `${HEALTH}.http`, 'must be a path such as /health']] },
  { name: 'health tcp port 70000', yaml: health('          tcp: 70000'), problems: [[8, 16, `${HEALTH}.tcp`, PORT_RANGE]] },
  { name: 'health tcp is a word', yaml: health('          tcp: http'), problems: [[8, 16, `${HEALTH}.tcp`, 'must be a port from 1 to 65535']] },
  { name: 'health interval without a unit', yaml: health('          http: /health', '          interval: 5'), problems: [[9, 21, `${HEALTH}.interval`, DURATION]] },
  { name: 'health interval in hours', yaml: health('          http: /health', '          interval: 1h'), problems: [[9, 21, `${HEALTH}.interval`, DURATION]] },
  { name: 'health timeout in words', yaml: health('          http: /health', '          timeout: ten seconds'), problems: [[9, 20, `${HEALTH}.timeout`, DURATION]] },
  { name: 'health timeout with a fraction', yaml: health('          http: /health', '          timeout: 1.5s'), problems: [[9, 20, `${HEALTH}.timeout`, DURATION]] },
  { name: 'health retries above 100', yaml: health('          http: /health', '          retries: 101'), problems: [[9, 20, `${HEALTH}.retries`, 'must be a whole number from 0 to 100']] },
  { name: 'health retries is a fraction', yaml: health('          http: /health', '          retries: 2.5'), problems: [[9, 20, `${HEALTH}.retries`, RETRIES]] },
  { name: 'health retries is a word', yaml: health('          http: /health', '          retries: three'), problems: [[9, 20, `${HEALTH}.retries`, RETRIES]] },

  // ---- The memory budget (resource guardrails)
  {
    name: 'budget written as a number',
    yaml: y('version: 1', 'budget: 16', 'workspaces: {}'),
    problems: [[2, 9, 'budget', 'must be a map such as { memory: 16g }']],
  },
  {
    name: 'budget with a misspelled key',
    yaml: y('version: 1', 'budget:', '  memroy: 16g', 'workspaces: {}'),
    problems: [[3, 3, 'budget.memroy', 'unknown key "memroy"; known keys here: memory']],
  },
  {
    name: 'budget memory that is not a size',
    yaml: y('version: 1', 'budget: { memory: lots }', 'workspaces: {}'),
    problems: [[2, 19, 'budget.memory', MEMORY]],
  },
  {
    name: 'budget memory 0',
    yaml: y('version: 1', 'budget: { memory: 0 }', 'workspaces: {}'),
    problems: [[2, 19, 'budget.memory', MEMORY]],
  },
  {
    name: 'budget memory with a unit the engines do not read',
    yaml: y('version: 1', 'budget: { memory: 2 gigs }', 'workspaces: {}'),
    problems: [[2, 19, 'budget.memory', MEMORY]],
  },

  // ---- Workspace health probes (the reconciler runs them)
  {
    name: 'workspace health with exec and tcp',
    yaml: web('    health:', '      exec: [test, -f, /ok]', '      tcp: 22'),
    problems: [[5, 7, `${WEB}.health`, ONE_PROBE]],
  },
  {
    name: 'workspace http probe without a port',
    yaml: web('    health:', '      http: /ready'),
    problems: [[5, 13, `${WEB}.health.http`, 'a workspace has no port of its own: add port, the port inside the workspace to GET (or probe a dev server)']],
  },
  {
    name: 'workspace health port out of range',
    yaml: web('    health:', '      http: /ready', '      port: 0'),
    problems: [[6, 13, `${WEB}.health.port`, PORT_RANGE]],
  },
  {
    name: 'workspace health with a misspelled key',
    yaml: web('    health:', '      tcp: 22', '      retry: 3'),
    problems: [[6, 7, `${WEB}.health.retry`, `unknown key "retry"; ${HEALTH_KEYS}`]],
  },
  {
    name: 'workspace health interval without a unit',
    yaml: web('    health:', '      tcp: 22', '      interval: 30'),
    problems: [[6, 17, `${WEB}.health.interval`, DURATION]],
  },
  {
    name: 'workspace health written as a command string',
    yaml: web('    health: pg_isready'),
    problems: [[4, 13, `${WEB}.health`, 'must be a map such as { http: /health, interval: 10s }']],
  },
  {
    name: 'dev server probe port that is a word',
    yaml: health('          http: /health', '          port: web'),
    problems: [[9, 17, `${HEALTH}.port`, PORT_RANGE]],
  },

  // ---- Several problems at once: one pass, ordered by line then column
  {
    name: 'several problems: unknown probe key and no probe, at the same place',
    yaml: health('          htp: /health'),
    problems: [
      [8, 11, `${HEALTH}.htp`, `unknown key "htp"; ${HEALTH_KEYS}`],
      [8, 11, HEALTH, ONE_PROBE],
    ],
  },
  {
    name: 'several problems: version missing and workspaces a scalar',
    yaml: y('workspaces: 3'),
    problems: [
      [1, 1, 'version', `missing "version": ${VERSION}`],
      [1, 13, 'workspaces', WORKSPACES],
    ],
  },
  {
    name: 'several problems: wrong version, bad fields, unknown key and a bad id',
    yaml: y('version: 2', 'workspaces:', '  web:', '    image: 22', '    cpus: zero', '    runtime: vmware', '    bogus: 1', '  Bad_Id:', '    root: .'),
    problems: [
      [1, 10, 'version', VERSION],
      [4, 12, `${WEB}.image`, IMAGE],
      [5, 11, `${WEB}.cpus`, CPUS],
      [6, 14, `${WEB}.runtime`, RUNTIME],
      [7, 5, `${WEB}.bogus`, `unknown key "bogus"; ${WORKSPACE_KEYS}`],
      [8, 3, 'workspaces.Bad_Id', WORKSPACE_ID],
    ],
  },
  {
    name: 'several problems: schema and egress-rule problems interleaved by position',
    yaml: y(
      'workspaces:',
      '  web:',
      '    restart: never',
      '    devServers:',
      '      api:',
      '        port: 0',
      '      Web:',
      '        command: npm start',
      '    egress:',
      '      allow: [https://x.com, ok.com, 1.2.3.4/40]',
      '      deny: nope',
      '  db:',
      '    env:',
      '      A: 1',
      '    previewPorts: 100',
      'extra: true',
    ),
    problems: [
      [1, 1, 'version', `missing "version": ${VERSION}`],
      [3, 14, `${WEB}.restart`, RESTART],
      [6, 9, `${API}.command`, `missing "command": ${COMMAND}`],
      [6, 15, `${API}.port`, PORT_RANGE],
      [7, 7, 'workspaces.web.devServers.Web', DEV_SERVER_NAME],
      [10, 15, `${WEB}.egress.allow.0`, 'Invalid egress pattern "https://x.com": that is a URL; give the host alone (x.com), or host:port.'],
      [10, 38, `${WEB}.egress.allow.2`, 'Invalid egress pattern "1.2.3.4/40": prefix /40 is too long.'],
      [11, 13, `${WEB}.egress.deny`, PATTERNS],
      [14, 10, 'workspaces.db.env.A', ENV_VALUE],
      [15, 19, 'workspaces.db.previewPorts', 'must be a whole number from 0 to 64'],
      [16, 1, 'extra', `unknown key "extra"; ${TOP_KEYS}`],
    ],
  },
  {
    name: 'several problems on one line of flow style, ordered by column',
    yaml: y('{version: 1, workspaces: {web: {cpus: -2, image: 1, mounts: 3}}}'),
    problems: [
      [1, 39, `${WEB}.cpus`, CPUS_POSITIVE],
      [1, 50, `${WEB}.image`, IMAGE],
      [1, 61, `${WEB}.mounts`, 'must be a list of mounts'],
    ],
  },
  {
    name: 'several problems with CRLF line endings',
    yaml: 'version: 1\r\nworkspaces:\r\n  web:\r\n    cpus: x\r\n    restart: maybe\r\n',
    problems: [
      [4, 11, `${WEB}.cpus`, CPUS],
      [5, 14, `${WEB}.restart`, RESTART],
    ],
  },
];

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('berth.yaml corpus: malformed manifests', () => {
  it('is a corpus of at least 45 cases with distinct names', () => {
    expect(cases.length).toBeGreaterThanOrEqual(45);
    expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length);
  });

  it.each(cases)('$name', ({ yaml, problems }) => {
    const error = thrown(() => parseManifest(yaml, FILE));
    // Anything but a BerthError (a TypeError, a ReferenceError from the YAML library) fails here,
    // and the assertion shows what was thrown.
    expect(error).toBeInstanceOf(BerthError);
    const berth = error as BerthError;
    expect(berth.code).toBe('E_INVALID_INPUT');

    const expected: ManifestProblem[] = problems.map(([line, column, path, message]) => ({ file: 'berth.yaml', line, column, path, message }));
    expect(berth.details?.['problems']).toStrictEqual(expected);

    const lines = expected.map((p) => `berth.yaml:${String(p.line)}:${String(p.column)}: ${p.path ? `${p.path}: ` : ''}${p.message}`);
    expect(berth.message).toBe(`berth.yaml has ${String(lines.length)} problem${lines.length === 1 ? '' : 's'}:\n${lines.join('\n')}`);
    expect(berth.message).not.toContain('    at ');
    expect(berth.message).not.toContain('/tmp/project');
  });
});

describe('berth.yaml corpus: valid manifests', () => {
  it('normalizes the smallest manifest with defaults', () => {
    expect(parseManifest(y('version: 1', 'workspaces:', '  web: {}'), FILE)).toEqual({
      file: FILE,
      memoryBudget: null,
      workspaces: [{ id: 'web', spec: { root: '/tmp/project' }, runtime: undefined, sandbox: undefined, restart: 'no', devServers: [] }],
    });
  });

  it('resolves paths against the manifest folder and turns a string command into sh -c', () => {
    const yaml = y(
      'version: 1',
      'workspaces:',
      '  web:',
      '    root: ./app',
      '    image: node:22',
      '    runtime: docker',
      '    mounts:',
      '      - ./data:ro',
      '      - ../shared',
      '      - /srv/cache:rw',
      '      - source: ./secrets',
      '        readOnly: true',
      '    env:',
      '      NODE_ENV: development',
      '      PORT: "3000"',
      '    cpus: 0.5',
      '    memory: 2g',
      '    previewPorts: 4',
      '    egress:',
      '      allow: [registry.npmjs.org, "*.github.com", "api.example.com:443", 10.0.0.0/24]',
      '      deny: ["[fd00::1]:8080"]',
      '    restart: on-failure',
      '    devServers:',
      '      web:',
      '        command: npm run dev -- --port 3000',
      '        cwd: packages/web',
      '        port: 3000',
      '        env:',
      '          HOST: 0.0.0.0',
      '        health:',
      '          http: /health',
      '          interval: 5s',
      '          timeout: 500ms',
      '          retries: 3',
      '        restart: always',
      '      api:',
      '        command: [node, server.js]',
      '        health:',
      '          tcp: 4000',
    );
    expect(parseManifest(yaml, FILE)).toEqual({
      file: FILE,
      memoryBudget: null,
      workspaces: [
        {
          id: 'web',
          spec: {
            root: '/tmp/project/app',
            image: 'node:22',
            mounts: ['/tmp/project/data:ro', '/tmp/shared', '/srv/cache', { source: '/tmp/project/secrets', readOnly: true }],
            env: { NODE_ENV: 'development', PORT: '3000' },
            cpus: 0.5,
            memory: '2g',
            previewPorts: 4,
            egress: { allow: ['registry.npmjs.org', '*.github.com', 'api.example.com:443', '10.0.0.0/24'], deny: ['[fd00::1]:8080'] },
          },
          runtime: 'docker',
          sandbox: undefined,
          restart: 'on-failure',
          health: undefined,
          devServers: [
            { name: 'api', command: ['node', 'server.js'], cwd: undefined, port: undefined, env: {}, health: { check: { kind: 'tcp', port: 4000 }, intervalMs: 10_000, timeoutMs: 2_000, retries: 3 }, restart: 'no' },
            {
              name: 'web',
              command: ['sh', '-c', 'npm run dev -- --port 3000'],
              cwd: 'packages/web',
              port: 3000,
              env: { HOST: '0.0.0.0' },
              health: { check: { kind: 'http', path: '/health', port: undefined }, intervalMs: 5_000, timeoutMs: 500, retries: 3 },
              restart: 'always',
            },
          ],
        },
      ],
    });
  });

  it('sorts workspaces by id and keeps absolute roots, sandbox choices and byte counts', () => {
    const yaml = y(
      'version: 1',
      'workspaces:',
      '  zeta:',
      '    root: /opt/zeta',
      '    sandbox: vm',
      '    memory: 1073741824',
      '  alpha:',
      '    root: ../alpha',
      '    sandbox: shared-kernel',
      '    devServers:',
      '      worker:',
      '        command: "python -m worker"',
      '        health:',
      '          exec: [pg_isready]',
    );
    expect(parseManifest(yaml, FILE)).toEqual({
      file: FILE,
      memoryBudget: null,
      workspaces: [
        {
          id: 'alpha',
          spec: { root: '/tmp/alpha' },
          runtime: undefined,
          sandbox: 'shared-kernel',
          restart: 'no',
          health: undefined,
          devServers: [{ name: 'worker', command: ['sh', '-c', 'python -m worker'], cwd: undefined, port: undefined, env: {}, health: { check: { kind: 'exec', command: ['pg_isready'] }, intervalMs: 10_000, timeoutMs: 2_000, retries: 3 }, restart: 'no' }],
        },
        { id: 'zeta', spec: { root: '/opt/zeta', memory: 1073741824 }, runtime: undefined, sandbox: 'vm', restart: 'no', health: undefined, devServers: [] },
      ],
    });
  });

  it('reads sandbox: auto | on | off as host mode\'s switch (beside a runtime too) and vm | shared-kernel as the runtime kind', () => {
    const yaml = y('version: 1', 'workspaces:', '  a:', '    runtime: host', '    sandbox: on', '  b:', '    sandbox: off', '  c:', '    sandbox: auto', '  d:', '    sandbox: vm');
    const spaces = parseManifest(yaml, FILE).workspaces;
    expect(spaces.map((w) => [w.id, w.runtime, w.sandbox, w.spec.sandbox])).toEqual([
      ['a', 'host', undefined, 'on'],
      ['b', undefined, undefined, 'off'],
      ['c', undefined, undefined, 'auto'],
      ['d', undefined, 'vm', undefined],
    ]);
    // The old spelling is an unknown key, named as such.
    expect(() => parseManifest(y('version: 1', 'workspaces:', '  a:', '    hostSandbox: off'), FILE)).toThrow(/hostSandbox/);
  });

  it('accepts an empty workspaces map', () => {
    expect(parseManifest(y('version: 1', 'workspaces: {}'), FILE)).toEqual({ file: FILE, memoryBudget: null, workspaces: [] });
  });
});

/** Cases the first review of this corpus found wrong (crashes, positions, wording), now fixed. */
describe('berth.yaml corpus: fixed after review', () => {
  it.each([
    ['an alias without an anchor (was a ReferenceError)', 'version: 1\nworkspaces:\n  web: *nope\n', 'berth.yaml:3:8: alias *nope has no anchor; define &nope before using it'],
    ['an alias bomb (was a ReferenceError)', 'version: 1\na: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\nworkspaces: {}\n', 'berth.yaml:3:8: aliases expand too much; write the values out'],
    ['runtime and sandbox: points at sandbox', 'version: 1\nworkspaces:\n  web:\n    image: x\n    runtime: docker\n    sandbox: vm\n', 'berth.yaml:6:14: workspaces.web.sandbox: give runtime or sandbox: vm | shared-kernel, not both'],
    ['the file is a list', '- a\n- b\n', 'berth.yaml:1:1: (top level): the file must be a map with version and workspaces'],
    ['a workspace that is a number', 'version: 1\nworkspaces:\n  web: 3\n', 'berth.yaml:3:8: workspaces.web: must be a map of settings (use {} for the defaults)'],
    ['egress written as a list', 'version: 1\nworkspaces:\n  web:\n    egress: [a.com]\n', 'berth.yaml:4:13: workspaces.web.egress: must be a map with allow and/or deny lists'],
    ['a dev server written as a string', 'version: 1\nworkspaces:\n  web:\n    devServers:\n      api: npm start\n', 'berth.yaml:5:12: workspaces.web.devServers.api: must be a map such as { command: [npm, run, dev] }'],
    ['an empty command list', 'version: 1\nworkspaces:\n  web:\n    devServers:\n      api:\n        command: []\n', 'berth.yaml:6:18: workspaces.web.devServers.api.command: must not be an empty list'],
    ['memory 0 (was two problems)', 'version: 1\nworkspaces:\n  web:\n    memory: 0\n', 'berth.yaml:4:13: workspaces.web.memory: must be a size such as 512m or 2g (or a whole number of bytes)'],
    ['memory "0" (was accepted)', 'version: 1\nworkspaces:\n  web:\n    memory: "0"\n', 'berth.yaml:4:13: workspaces.web.memory: must be a size such as 512m or 2g (or a whole number of bytes)'],
    ['a dev server named health: the dev-server keys', 'version: 1\nworkspaces:\n  web:\n    devServers:\n      health:\n        command: [x]\n        prot: 1\n', 'berth.yaml:7:9: workspaces.web.devServers.health.prot: unknown key "prot"; known keys here: command, cwd, port, env, health, restart'],
    ['two YAML documents', 'version: 1\nworkspaces: {}\n---\nversion: 1\n', 'berth.yaml:3:1: a manifest is one YAML document: remove the second "---"'],
  ])('%s', (_name, text, line) => {
    let thrown: unknown;
    try {
      parseManifest(text, '/tmp/project/berth.yaml');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(BerthError);
    expect((thrown as BerthError).message.split('\n').slice(1)).toEqual([line]);
  });
});
