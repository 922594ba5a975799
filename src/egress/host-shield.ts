import { existsSync } from 'node:fs';
import type { BerthEventInput } from '../events.js';
import { run } from '../process/index.js';

/** Tags Berth's rules, so they are found again and never confused with anyone else's. */
const COMMENT = 'berth-egress-shield';

/** Where the kernel lists the xt_recent tables that rules in this network namespace refer to. */
const RECENT_DIR = '/proc/net/xt_recent';

export interface ShieldResult {
  shielded: boolean;
  /** The rules were missing (a firewall reload, a reboot, someone's flush) and were put back. */
  restored: boolean;
  detail: string;
}

type Family = 'iptables' | 'ip6tables';
type Role = 'replies' | 'proxy' | 'drop';

/*
 * An internal network has no route out, but the host itself answers on the network's gateway: a
 * workspace could reach any host service listening on all interfaces, around the proxy. These host
 * firewall rules, on the network's bridge only, in this order:
 *   replies  accept packets of connections the HOST opened (a dev-server preview: the host connects
 *            to the workspace, and the workspace's answers come in on the bridge);
 *   proxy    accept new connections to the proxy port;
 *   drop     everything else the workspace sends to the host (DNS included: clients behind the
 *            proxy never resolve names themselves).
 * So the workspace can answer the host, and reach the proxy, but open nothing else on the host.
 *
 * Telling cheaply that they are still there: each rule carries `-m recent ! --rcheck --name <tag>`
 * against an xt_recent list nothing ever fills (so it always matches and changes nothing), and the
 * kernel keeps /proc/net/xt_recent/<tag> exactly while a rule naming that list is loaded. A flush,
 * a firewall reload, a reboot or a `-D` removes the rule and with it the file, so one stat per rule
 * answers "still shielded?" in microseconds, where asking iptables (`-C`) costs a process and a
 * netlink dump of the whole ruleset (7-8 ms measured, per family). No cache, so nothing goes stale.
 */

/** The xt_recent list a rule carries, one per bridge, family and rule (the kernel shares names across families). */
function tagOf(bridge: string, family: Family, role: Role): string {
  return `berth${family === 'iptables' ? '4' : '6'}${role[0] ?? ''}-${bridge}`;
}

function ruleOf(bridge: string, proxyPort: number, family: Family, role: Role, marked: boolean): string[] {
  const marker = marked ? ['-m', 'recent', '!', '--rcheck', '--name', tagOf(bridge, family, role)] : [];
  const tail = [...marker, '-m', 'comment', '--comment', COMMENT];
  switch (role) {
    case 'replies':
      return ['-i', bridge, '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', ...tail, '-j', 'ACCEPT'];
    case 'proxy':
      return ['-i', bridge, '-p', 'tcp', '--dport', String(proxyPort), ...tail, '-j', 'ACCEPT'];
    case 'drop':
      return ['-i', bridge, ...tail, '-j', 'DROP'];
  }
}

const ROLES: readonly Role[] = ['replies', 'proxy', 'drop'];
const FAMILIES: readonly Family[] = ['iptables', 'ip6tables'];

/**
 * Are all of this bridge's rules loaded? Stats only, no process: what every ensure() of an egress
 * workspace asks. IPv6 rules count only where the kernel has IPv6.
 */
export function shieldIntact(bridge: string): boolean {
  const families = existsSync('/proc/net/if_inet6') ? FAMILIES : FAMILIES.slice(0, 1);
  return families.every((family) => ROLES.every((role) => existsSync(`${RECENT_DIR}/${tagOf(bridge, family, role)}`)));
}

/**
 * Puts the shield on the bridge (idempotent, safe to run from several processes at once). Leftover
 * rules of ours are removed first, then the three go in as ONE iptables-restore transaction at the
 * top of INPUT: two processes racing each insert a complete, ordered set, never an interleaving with
 * a drop above an accept. Needs root; without it the workspace runs unshielded and the caller says so.
 */
export async function shieldBridge(bridge: string, proxyPort: number): Promise<ShieldResult> {
  const restored = !shieldIntact(bridge);
  const results = await Promise.all(FAMILIES.map((family) => shieldFamily(family, bridge, proxyPort)));
  // IPv4 is the one that matters on these networks; a host without ip6tables is still shielded.
  const [v4, v6] = results;
  if (v4 !== undefined) return { shielded: false, restored: false, detail: `host services on ${bridge}'s gateway are reachable from the workspace: ${v4}` };
  const detail = `${bridge}: the workspace reaches only the proxy port on the host`;
  return { shielded: true, restored, detail: v6 === undefined ? detail : `${detail} (IPv4; ${v6})` };
}

/** The fast path: nothing to do when every rule is there (no process spawned). */
export async function ensureShield(bridge: string, proxyPort: number): Promise<ShieldResult> {
  if (shieldIntact(bridge)) return { shielded: true, restored: false, detail: `${bridge}: the workspace reaches only the proxy port on the host` };
  return shieldBridge(bridge, proxyPort);
}

/**
 * Checks (and where missing restores) the shield of one egress workspace's bridge, recording what it
 * found: `egress.shield-restored` when the rules had gone, `egress.unshielded` when they cannot be set.
 * The one call ensure(), the reconciler and doctor --fix make.
 */
export async function keepShield(record: { workspace: string; bridge: string | null; proxyPort: number } | undefined, emit: (event: BerthEventInput) => void): Promise<ShieldResult | null> {
  if (record?.bridge == null) return null;
  const { workspace, bridge } = record;
  const result = await ensureShield(bridge, record.proxyPort);
  if (!result.shielded) emit({ type: 'egress.unshielded', workspace, level: 'warn', message: `Egress of ${workspace}: ${result.detail}.`, data: { bridge } });
  else if (result.restored) {
    emit({ type: 'egress.shield-restored', workspace, level: 'warn', message: `Egress of ${workspace}: the host firewall rules on ${bridge} were gone (a firewall reload or a reboot?); put them back.`, data: { bridge } });
  }
  return result;
}

async function shieldFamily(family: Family, bridge: string, proxyPort: number): Promise<string | undefined> {
  try {
    try {
      await replaceRules(family, bridge, proxyPort, true);
    } catch (error) {
      // A kernel without xt_recent: the same rules without the marker (ensure then redoes them each time).
      if (!/recent/i.test(error instanceof Error ? error.message : String(error))) throw error;
      await replaceRules(family, bridge, proxyPort, false);
    }
    return undefined;
  } catch (error) {
    return `${family}: ${error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error)}`;
  }
}

/**
 * One transaction: delete whatever of ours is on this bridge now (a partial set, an older Berth's,
 * copies a racing process added), then insert replies, proxy, drop in that order at the top of INPUT.
 * Two processes racing: the loser's transaction fails on a delete the winner already made, and it
 * tries again from a fresh listing. Two process spawns per family.
 */
async function replaceRules(family: Family, bridge: string, proxyPort: number, marked: boolean): Promise<void> {
  const inserts = ROLES.map((role, i) => `-I INPUT ${String(i + 1)} ${ruleOf(bridge, proxyPort, family, role, marked).map(quoteRestoreArg).join(' ')}`);
  for (let attempt = 1; ; attempt++) {
    const deletes = await oursOn(family, bridge);
    try {
      await restore(family, [...deletes, ...inserts]);
      return;
    } catch (error) {
      if (attempt >= 3) throw error;
    }
  }
}

/**
 * Our rules on this bridge as `-D` lines, from one listing of INPUT. Each listed rule is deleted by
 * the spec Berth wrote it with, not by the listing's own text: iptables-nft does not match a rule
 * with the recent match by its `-S` form (it adds `--mask`/`--rsource`, and `-D` of that fails).
 */
async function oursOn(family: Family, bridge: string): Promise<string[]> {
  const listing = await run([family, '-w', '-S', 'INPUT'], { timeoutMs: 10_000 });
  return listing.stdout
    .split('\n')
    .filter((line) => line.startsWith('-A INPUT ') && line.includes(` -i ${bridge} `) && new RegExp(`--comment "?${COMMENT}"? `).test(line))
    .map((line) => {
      const role: Role = line.includes('--ctstate') ? 'replies' : line.includes('-j DROP') ? 'drop' : 'proxy';
      const port = Number(/--dport (\d+)/.exec(line)?.[1] ?? 0);
      return `-D INPUT ${ruleOf(bridge, port, family, role, line.includes('-m recent')).map(quoteRestoreArg).join(' ')}`;
    });
}

async function restore(family: Family, lines: readonly string[]): Promise<void> {
  if (lines.length === 0) return;
  await run([`${family}-restore`, '-w', '--noflush'], { input: `*filter\n${lines.join('\n')}\nCOMMIT\n`, timeoutMs: 10_000 });
}

/** iptables-restore splits on spaces and honours double quotes; our values have neither, but say so. */
function quoteRestoreArg(arg: string): string {
  return /^[\w.,:/!-]+$/.test(arg) ? arg : `"${arg.replace(/(["\\])/g, '\\$1')}"`;
}

/** Removes every rule of ours on this bridge (this Berth's and older ones'); none there is fine. */
export async function unshieldBridge(bridge: string): Promise<void> {
  await Promise.all(
    FAMILIES.map(async (family) => {
      for (let attempt = 1; attempt <= 3; attempt++) {
        const ok = await oursOn(family, bridge).then((lines) => restore(family, lines)).then(() => true, () => false);
        if (ok) return;
      }
    }),
  );
}

/** How long a bridge whose shield could not be put back (no root) is left before trying again. */
const RETRY_AFTER_MS = 30_000;

/**
 * Keeps the shields of every egress workspace a long-lived process serves (the daemon, `berth
 * egress serve`): called on each policy sync, it costs six stats per workspace while all is well,
 * and puts back within one sync what a firewall reload took, with no `up` or reconcile needed. A
 * bridge it cannot shield is tried again only after a while, not every sync.
 */
export class ShieldKeeper {
  private readonly failedAt = new Map<string, number>();

  async keep(records: readonly { workspace: string; bridge: string | null; proxyPort: number }[], emit: (event: BerthEventInput) => void, now = Date.now()): Promise<void> {
    for (const record of records) {
      const { bridge } = record;
      // No interface, no traffic: a network being removed, or a podman bridge not up since a reboot
      // (ensure() shields it before it starts the workspace).
      if (bridge == null || shieldIntact(bridge) || !existsSync(`/sys/class/net/${bridge}`)) continue;
      const failed = this.failedAt.get(bridge);
      if (failed !== undefined && now - failed < RETRY_AFTER_MS) continue;
      const result = await keepShield(record, emit);
      if (result?.shielded === false) this.failedAt.set(bridge, now);
      else this.failedAt.delete(bridge);
    }
  }
}
