import { randomBytes } from 'node:crypto';
import { BerthError, isBerthError } from '../errors.js';
import type { BerthEventInput } from '../events.js';
import type { ContainerSpec, Runtime, RuntimeCapabilities } from '../runtime/types.js';
import type { EgressRecord, EgressStore } from '../state/egress-records.js';
import type { Ledger } from '../state/ledger.js';
import { EXEC_FENCE, waitForFirewall } from './guest-firewall.js';
import { keepShield, shieldBridge, unshieldBridge } from './host-shield.js';
import { CONFINED_TO_NETWORK } from './network-confinement.js';
import type { EgressPolicy } from './policy.js';

/**
 * A workspace's egress control, as the workspace layer sees it: ensure() prepares it before a
 * create, keeps it on the way to handing an existing workspace over, puts its fence in front of
 * every exec, and releases it with the workspace. How it is enforced (an internal network with a
 * host shield, confinement, a guest firewall, or nothing but proxy variables) stays behind it, so
 * another enforcement (a relay for host mode) is another implementation of the same five steps.
 */
export interface WorkspaceEgress {
  /**
   * Before the workspace's container is made: its egress set up for `policy` (recorded, with the
   * proxy's credential) and what the container needs to use it. `null` policy: no egress control,
   * and whatever an earlier spec left of it goes.
   */
  prepare(id: string, policy: EgressPolicy | null): Promise<EgressAttachment | null>;
  /** An existing workspace's rules become `policy`, live; the same rules change nothing. */
  follow(id: string, policy: EgressPolicy): void;
  /** Before an existing workspace is handed over (or started): what went behind Berth's back is put back. */
  keep(id: string): Promise<void>;
  /** After its container started: returns once egress is enforced inside it, where the guest does it. */
  ready(id: string, container: string): Promise<void>;
  /** What goes in front of every command Berth runs in the workspace (empty where nothing must). */
  execFence(id: string): readonly string[];
  /** Something of the workspace's egress is still on record (a removal cut short finishes it). */
  held(id: string): boolean;
  /** The workspace's egress goes: network, shield rules, record (its credential with it). */
  release(id: string): Promise<void>;
  /** Replaces a recorded policy; the proxy re-reads it on its next connection. */
  replacePolicy(record: EgressRecord, policy: EgressPolicy): void;
}

/** What prepare() hands the container spec. */
export interface EgressAttachment {
  /** The network to attach the container to (null: the runtime's default). */
  network: string | null;
  /** The proxy variables, added to the container's env. */
  env: Record<string, string>;
  /** Where the guest firewall lets traffic out, where the container's main process must set one up. */
  fence: { proxyHost: string; proxyPort: number } | null;
  /** What the container gives up to stay on its network (docker/podman: no published ports, no resolver out). */
  confined: Partial<ContainerSpec> | null;
  /** The port the workspace's proxy listens on (host mode: the sandbox relays this same port inside). */
  proxyPort: number;
}

/** The tables a workspace's egress lives in: its networks in the ledger, its settings in egress. */
export interface EgressState {
  readonly ledger: Pick<Ledger, 'activeEntries' | 'recordIntent' | 'confirmCreated' | 'markRemoved'>;
  readonly egress: EgressStore;
}

/** Where a workspace's clients find the egress proxy: every workspace network has its own gateway. */
export const EGRESS_PROXY_PORT = 3128;

/**
 * Host mode's proxy is on this machine's loopback, shared by every Berth home on it:
 * `BERTH_HOST_EGRESS_PORT` gives an installation its own (the sandbox relays the same port inside).
 */
export function hostEgressPort(env: NodeJS.ProcessEnv): number {
  const port = Number(env['BERTH_HOST_EGRESS_PORT'] ?? EGRESS_PROXY_PORT);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new BerthError('E_INVALID_INPUT', `BERTH_HOST_EGRESS_PORT must be a port number, got ${JSON.stringify(env['BERTH_HOST_EGRESS_PORT'])}.`, { hint: 'Unset it (3128) or give a free loopback port.' });
  }
  return port;
}

export function egressNetworkFor(id: string): string {
  return `berth-net-${id}`;
}

/**
 * The variables npm, git, curl and pip read, in both cases, with what must not be proxied; and
 * NODE_USE_ENV_PROXY, without which node's own fetch and http (Node >= 24 and 22.21) ignore them.
 */
export function proxyEnv(url: string, subnet: string | null): Record<string, string> {
  const noProxy = ['localhost', '127.0.0.1', '::1', ...(subnet ? [subnet] : [])].join(',');
  return { HTTP_PROXY: url, HTTPS_PROXY: url, http_proxy: url, https_proxy: url, NO_PROXY: noProxy, no_proxy: noProxy, NODE_USE_ENV_PROXY: '1' };
}

/** Egress here needs a firewall inside the guest: the runtime's internal networks still route out. */
export function needsGuestFirewall(capabilities: RuntimeCapabilities): boolean {
  return capabilities.internalNetworks && capabilities.internalNetworkRoutesOut;
}

/**
 * Egress through Berth's proxy on a runtime. On docker and podman: the workspace's own internal
 * network (no route out, and no path to other workspaces), with the proxy on the network's gateway,
 * the host's only address there, shielded on the host. On Apple the same network plus a firewall in
 * the guest (its networks still route out). Host mode gets the proxy variables only, on loopback:
 * nothing enforces them there.
 */
export class RuntimeEgress implements WorkspaceEgress {
  private readonly runtime: Runtime;
  private readonly store: EgressState;
  private readonly emit: (event: BerthEventInput) => void;
  private readonly env: NodeJS.ProcessEnv;
  private readonly networkLabels: (id: string) => Record<string, string>;

  constructor(options: {
    runtime: Runtime;
    store: EgressState;
    /** Berth's environment (BERTH_HOST_EGRESS_PORT). */
    env?: NodeJS.ProcessEnv | undefined;
    emit: (event: BerthEventInput) => void;
    /** The ownership labels of a workspace's network (the workspace layer's, as on its container). */
    networkLabels: (id: string) => Record<string, string>;
  }) {
    this.runtime = options.runtime;
    this.env = options.env ?? process.env;
    this.networkLabels = options.networkLabels;
    this.store = options.store;
    this.emit = options.emit;
  }

  async prepare(id: string, policy: EgressPolicy | null): Promise<EgressAttachment | null> {
    if (policy === null) {
      await this.release(id);
      return null;
    }
    let network: string | null = null;
    let bridge: string | null = null;
    let proxyHost = '127.0.0.1';
    const proxyPort = this.runtime.kind === 'host' ? hostEgressPort(this.env) : EGRESS_PROXY_PORT;
    let subnet: string | null = null;
    if (this.runtime.capabilities.internalNetworks) {
      network = egressNetworkFor(id);
      // Intent before the effect, as for containers: a run killed in between leaves a ledgered name.
      const known = this.store.ledger.activeEntries(this.runtime.kind).find((e) => e.kind === 'network' && e.name === network);
      const entry = known?.id ?? this.store.ledger.recordIntent({ kind: 'network', runtime: this.runtime.kind, name: network, workspace: id });
      const info = await this.runtime.networkEnsure({ name: network, internal: true, labels: this.networkLabels(id) });
      if (known?.resourceId !== info.id) this.store.ledger.confirmCreated(entry, info.id);
      if (info.gateway === null) {
        throw new BerthError('E_RUNTIME_FAILED', `Network ${network} has no gateway address for the egress proxy to listen on.`, { hint: 'Remove the network and run berth up again.' });
      }
      proxyHost = info.gateway;
      subnet = info.subnet;
      bridge = info.bridge;
      // A network made anew (replaced, or recreated by hand) may have a new bridge: the old one's rules go.
      const before = this.store.egress.egress(id)[0]?.bridge;
      if (before != null && before !== bridge) await unshieldBridge(before);
      if (bridge !== null) {
        const shield = await shieldBridge(bridge, EGRESS_PROXY_PORT);
        if (!shield.shielded) this.emit({ type: 'egress.unshielded', workspace: id, level: 'warn', message: `Egress of ${id}: ${shield.detail}.`, data: { bridge } });
      }
    }
    const existing = this.store.egress.egress(id)[0];
    const token = existing?.token ?? randomBytes(18).toString('base64url');
    this.store.egress.putEgress({ workspace: id, runtime: this.runtime.kind, token, policy, network, bridge, proxyHost, proxyPort });
    const guestFirewall = needsGuestFirewall(this.runtime.capabilities);
    const fence = network !== null && guestFirewall ? { proxyHost, proxyPort: EGRESS_PROXY_PORT } : null;
    const confined = network !== null && !guestFirewall ? CONFINED_TO_NETWORK : null;
    return { network, env: proxyEnv(`http://${id}:${token}@${proxyHost}:${String(proxyPort)}`, subnet), fence, confined, proxyPort };
  }

  follow(id: string, policy: EgressPolicy): void {
    const record = this.store.egress.egress(id)[0];
    if (record && JSON.stringify(record.policy) !== JSON.stringify(policy)) this.replacePolicy(record, policy);
  }

  /**
   * A firewall reload or a reboot takes the host shield away behind Berth's back: put it back.
   * A few stats when it is there, no engine call.
   */
  async keep(id: string): Promise<void> {
    await keepShield(this.store.egress.egress(id)[0], this.emit);
  }

  async ready(id: string, container: string): Promise<void> {
    if (this.execFence(id).length > 0) await waitForFirewall(this.runtime, container, id);
  }

  /** Where a firewall in the guest enforces egress: the fence that keeps commands from changing it. */
  execFence(id: string): readonly string[] {
    const record = this.store.egress.egress(id)[0];
    return record !== undefined && record.network !== null && needsGuestFirewall(this.runtime.capabilities) ? EXEC_FENCE : [];
  }

  held(id: string): boolean {
    return this.store.egress.egress(id).length > 0;
  }

  /** The workspace's egress network (when Berth made one) and its proxy settings go with it. */
  async release(id: string): Promise<void> {
    const network = egressNetworkFor(id);
    const record = this.store.egress.egress(id)[0];
    if (record?.bridge) await unshieldBridge(record.bridge);
    if (this.store.ledger.activeEntries(this.runtime.kind).some((e) => e.kind === 'network' && e.name === network)) {
      await this.runtime.networkRemove(network).catch((error: unknown) => {
        if (!isBerthError(error, 'E_NOT_FOUND')) throw error;
      });
      this.store.ledger.markRemoved(this.runtime.kind, 'network', network);
    }
    this.store.egress.deleteEgress(id);
  }

  replacePolicy(record: EgressRecord, policy: EgressPolicy): void {
    this.store.egress.putEgress({ ...record, policy });
    const id = record.workspace;
    this.emit({ type: 'egress.policy-changed', workspace: id, message: `Egress policy of ${id}: allow ${policy.allow.join(', ') || '(nothing)'}; deny ${policy.deny.join(', ') || '(nothing)'}.`, data: { ...policy } });
  }
}
