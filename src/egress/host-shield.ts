import { run } from '../process/index.js';

/** Tags Berth's rules, so they are found again and never confused with anyone else's. */
const COMMENT = 'berth-egress-shield';

export interface ShieldResult {
  shielded: boolean;
  detail: string;
}

/**
 * An internal network has no route out, but the host itself answers on the network's gateway: a
 * workspace could reach any host service listening on all interfaces, around the proxy. These host
 * firewall rules, on the network's bridge only, accept the proxy port and drop everything else
 * (DNS included: clients behind the proxy never resolve names themselves). Idempotent. Needs root;
 * without it the workspace runs unshielded and the caller says so.
 */
export async function shieldBridge(bridge: string, proxyPort: number): Promise<ShieldResult> {
  const results = await Promise.all(
    ['iptables', 'ip6tables'].map(async (tool) => {
      try {
        for (const [position, rule] of [
          [1, drop(bridge)],
          [1, accept(bridge, proxyPort)],
        ] as const) {
          const present = await run([tool, '-w', '-C', 'INPUT', ...rule], { okExitCodes: 'any', timeoutMs: 10_000 });
          if (present.exitCode !== 0) await run([tool, '-w', '-I', 'INPUT', String(position), ...rule], { timeoutMs: 10_000 });
        }
        return undefined;
      } catch (error) {
        return `${tool}: ${error instanceof Error ? error.message.split('\n')[0] ?? '' : String(error)}`;
      }
    }),
  );
  // IPv4 is the one that matters on these networks; a host without ip6tables is still shielded.
  const [v4, v6] = results;
  if (v4 !== undefined) return { shielded: false, detail: `host services on ${bridge}'s gateway are reachable from the workspace: ${v4}` };
  return { shielded: true, detail: v6 === undefined ? `${bridge}: only the proxy port is open` : `${bridge}: only the proxy port is open (IPv4; ${v6})` };
}

/** Removes exactly the rules shieldBridge added; missing ones are fine. */
export async function unshieldBridge(bridge: string, proxyPort: number): Promise<void> {
  for (const tool of ['iptables', 'ip6tables']) {
    for (const rule of [accept(bridge, proxyPort), drop(bridge)]) {
      await run([tool, '-w', '-D', 'INPUT', ...rule], { okExitCodes: 'any', timeoutMs: 10_000 }).catch(() => undefined);
    }
  }
}

function drop(bridge: string): string[] {
  return ['-i', bridge, '-m', 'comment', '--comment', COMMENT, '-j', 'DROP'];
}

function accept(bridge: string, proxyPort: number): string[] {
  return ['-i', bridge, '-p', 'tcp', '--dport', String(proxyPort), '-m', 'comment', '--comment', COMMENT, '-j', 'ACCEPT'];
}
