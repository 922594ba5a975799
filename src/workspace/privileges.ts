import { BerthError } from '../errors.js';

/**
 * What a workspace's container may be given beyond the engine's defaults: the `docker run` flags a
 * devcontainer.json asks for (`runArgs`, `capAdd`, `securityOpt`, `privileged`, its features'
 * contributions). They come from the repository, so they are untrusted: whatever lets the
 * container reach past its namespaces (docs/security.md, "Privileges a workspace asks for") is
 * granted only when the user opts in, and never to a workspace whose egress is controlled.
 */
export interface ContainerPrivileges {
  /** Capability names, upper-case, without `CAP_`, sorted, unique (`ALL` is all of them). */
  capAdd: string[];
  securityOpt: string[];
  privileged: boolean;
  /** `name:address` lines for the container's /etc/hosts. */
  addHosts: string[];
  /** `/dev/host[:/dev/container[:rwm]]`, as the engines take `--device`. */
  devices: string[];
}

export type PrivilegesInput = Partial<Readonly<Record<'capAdd' | 'securityOpt' | 'addHosts' | 'devices', readonly string[]>>> & { privileged?: boolean | undefined };

/**
 * Capabilities that give nothing a container could escape with: docker's default set
 * (moby oci/caps/defaults.go: podman leaves some of them out) and two that only touch the
 * container's own scheduling and memory locking. An allowlist, so a capability the kernel adds
 * later needs the opt-in until someone reads what it does.
 */
export const BENIGN_CAPABILITIES: ReadonlySet<string> = new Set([
  'AUDIT_WRITE', 'CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'MKNOD', 'NET_BIND_SERVICE', 'NET_RAW', 'SETFCAP', 'SETGID', 'SETPCAP', 'SETUID', 'SYS_CHROOT',
  'SYS_NICE', 'IPC_LOCK',
]);

/** Security options that only take privileges away. */
const BENIGN_SECURITY_OPT = /^no-new-privileges(?:[:=]true)?$/;

/** The privileges as given, checked and in one canonical form; null when there are none. */
export function normalizePrivileges(input: PrivilegesInput | null | undefined): ContainerPrivileges | null {
  if (input === undefined || input === null) return null;
  const text = (value: unknown, what: string): string => {
    if (typeof value !== 'string' || value.trim() === '' || /[\s\0]/.test(value.trim())) throw invalid(`${what} must be a non-empty word without spaces, got ${JSON.stringify(value)}.`);
    return value.trim();
  };
  const capAdd = (input.capAdd ?? []).map((cap) => {
    const name = text(cap, 'A capability').toUpperCase().replace(/^CAP_/, '');
    if (!/^[A-Z][A-Z0-9_]*$/.test(name)) throw invalid(`${JSON.stringify(cap)} is not a capability name.`);
    return name;
  });
  const addHosts = (input.addHosts ?? []).map((entry) => {
    const line = text(entry, 'An --add-host entry');
    // docker takes `name:address` and (from 25) `name=address`; one form for both engines.
    const at = line.search(/[:=]/);
    if (at <= 0 || at === line.length - 1) throw invalid(`--add-host ${JSON.stringify(entry)} is not name:address.`);
    return `${line.slice(0, at)}:${line.slice(at + 1)}`;
  });
  const devices = (input.devices ?? []).map((device) => {
    const value = text(device, 'A --device');
    if (!value.startsWith('/dev/')) throw invalid(`--device ${JSON.stringify(device)} is not a device under /dev.`);
    return value;
  });
  const privileges: ContainerPrivileges = {
    capAdd: sortedUnique(capAdd),
    securityOpt: sortedUnique((input.securityOpt ?? []).map((opt) => text(opt, 'A security option'))),
    privileged: input.privileged === true,
    addHosts: sortedUnique(addHosts),
    devices: sortedUnique(devices),
  };
  const empty = !privileges.privileged && privileges.capAdd.length + privileges.securityOpt.length + privileges.addHosts.length + privileges.devices.length === 0;
  return empty ? null : privileges;
}

/**
 * What of these lets the container reach past its namespaces, one phrase each: the whole
 * container (`privileged`), a host device, a capability outside BENIGN_CAPABILITIES, a security
 * option that is not no-new-privileges. Empty: nothing needs the opt-in.
 */
export function elevatedPrivileges(privileges: ContainerPrivileges | null | undefined): string[] {
  if (!privileges) return [];
  return [
    ...(privileges.privileged ? ['privileged'] : []),
    ...privileges.devices.map((d) => `--device ${d}`),
    ...privileges.capAdd.filter((cap) => !BENIGN_CAPABILITIES.has(cap)).map((cap) => `--cap-add ${cap}`),
    ...privileges.securityOpt.filter((opt) => !BENIGN_SECURITY_OPT.test(opt)).map((opt) => `--security-opt ${opt}`),
  ];
}

/**
 * Refuses what the workspace may not have: elevated privileges without the opt-in, and with an
 * egress policy at all (the policy is enforced by the container's network; a container that can
 * load modules, mount the host's disks, trace or rewrite its own firewall is past it).
 */
export function checkPrivileges(privileges: ContainerPrivileges | null, options: { allowed: boolean; egress: boolean; where?: string | undefined }): void {
  const elevated = elevatedPrivileges(privileges);
  if (elevated.length === 0) return;
  const where = options.where ? `${options.where}: ` : '';
  if (options.egress) {
    throw new BerthError('E_UNSUPPORTED', `${where}the workspace has an egress policy, and ${elevated.join(', ')} would let it get around it: Berth enforces egress through the container's network, which a privileged container, a host device or these capabilities reach past.`, {
      hint: 'Remove them (runArgs, capAdd, securityOpt, privileged, or the feature that asks for them), or bring the workspace up without egress control.',
      details: { elevated },
    });
  }
  if (!options.allowed) {
    throw new BerthError('E_UNSUPPORTED', `${where}the workspace asks for ${elevated.join(', ')}: with them a process in the container can reach past it (the host's devices, kernel or other processes), and the repository asked, not you.`, {
      hint: 'Read why it needs them; to grant them, pass --allow-privileged to berth up (allowPrivileged: true in the API), or remove them from the devcontainer.json.',
      details: { elevated },
    });
  }
}

function sortedUnique(values: string[]): string[] {
  return [...new Set(values)].sort();
}

function invalid(message: string): BerthError {
  return new BerthError('E_INVALID_INPUT', message, { hint: 'Use the forms docker run takes: --cap-add NAME, --add-host name:address, --device /dev/x.' });
}

/**
 * Refuses what a runtime has no way to give, before anything is built or created. Apple
 * `container run` has `--cap-add` (from 0.12; before, every process has all capabilities) and
 * `--init`, and no flag for privileged, security options, /etc/hosts lines or devices (the
 * create flags, Sources/Services/ContainerAPIService/Client/Flags.swift@1.2.2). Host mode runs the
 * workspace as the user's own processes: no container to give anything to, no main process to
 * run an entrypoint in.
 */
export function checkRuntimeSupport(kind: string, input: { privileges?: PrivilegesInput | null | undefined; entrypoints?: readonly string[] | null | undefined }, where: string): void {
  const privileges = normalizePrivileges(input.privileges);
  const asked = (p: ContainerPrivileges | null, withCaps: boolean): string[] =>
    p === null
      ? []
      : [
          ...(p.privileged ? ['privileged'] : []),
          ...(withCaps ? p.capAdd.map((cap) => `--cap-add ${cap}`) : []),
          ...p.securityOpt.map((opt) => `--security-opt ${opt}`),
          ...p.addHosts.map((host) => `--add-host ${host}`),
          ...p.devices.map((device) => `--device ${device}`),
        ];
  let refused: string[] = [];
  if (kind === 'apple') refused = asked(privileges, false);
  if (kind === 'host') refused = [...asked(privileges, true), ...((input.entrypoints ?? []).length > 0 ? ['a feature entrypoint'] : [])];
  if (refused.length === 0) return;
  const runtime = kind === 'apple' ? 'Apple container' : 'Host mode';
  throw new BerthError('E_UNSUPPORTED', `${where}: ${runtime} cannot give the workspace ${refused.join(', ')}.`, {
    hint: 'Bring the workspace up on docker or podman (--runtime), or remove them from the devcontainer.json (runArgs, securityOpt, privileged, or the feature that asks).',
    details: { runtime: kind, refused },
  });
}
