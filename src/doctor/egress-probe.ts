import { createServer, type Server, type Socket } from 'node:net';
import type { Berth } from '../berth.js';
import { shieldIntact } from '../egress/host-shield.js';
import type { DoctorCheck } from './doctor.js';

/** A name no allowlist can contain: refusing it proves the proxy decides, without any DNS lookup. */
const NEVER_ALLOWED = 'berth-doctor-probe.invalid';

/**
 * Proves egress from inside the workspace, with the tools a developer would use (curl): the first
 * concrete allowed target answers through the proxy, a target outside the allowlist is refused with
 * 403, a direct connection that skips the proxy fails, and the host itself cannot be reached (a
 * listener doctor opens on the proxy's address, beside the proxy, gets no connection). Only targets
 * the owner allowed are contacted; the refused one is refused before any lookup. On docker/podman it
 * also checks the host shield's rules, and with `fix` puts them back.
 */
export async function probeEgress(berth: Berth, id: string, options: { fix?: boolean } = {}): Promise<DoctorCheck[]> {
  const egress = berth.egressView(id);
  if (egress === null) return [{ id: 'egress', status: 'warn', detail: `workspace ${id} has no egress control`, fix: `berth up ${id} --allow <host>` }];
  const checks: DoctorCheck[] = [];
  const record = berth.store.egress.egress(id)[0];
  if (record?.bridge != null) checks.push(await shieldCheck(berth, id, record.bridge, options.fix === true));
  const curl = async (args: string[]): Promise<{ exitCode: number; stdout: string }> => berth.exec(id, ['curl', '-sS', '-o', '/dev/null', '-w', '%{http_code}', '-m', '5', ...args]);
  if ((await berth.exec(id, ['sh', '-c', 'command -v curl'])).exitCode !== 0) {
    return [{ id: 'egress.probe', status: 'warn', detail: 'the workspace image has no curl to probe with', fix: 'Add curl to the image.' }];
  }

  const target = egress.policy.allow.map(urlFor).find((url) => url !== undefined);
  if (target === undefined) {
    checks.push({ id: 'egress.allowed', status: 'warn', detail: 'no concrete allowed host to probe (only wildcards, or nothing allowed)' });
  } else {
    const through = await curl([target]);
    // A TLS error after the tunnel opened still proves the proxy let it through.
    const passed = through.stdout !== '403' && (through.exitCode === 0 || [35, 51, 60].includes(through.exitCode));
    checks.push({
      id: 'egress.allowed',
      status: passed ? 'ok' : 'fail',
      detail: passed ? `${target} answers through the proxy` : `${target} did not answer through the proxy (curl exit ${String(through.exitCode)}, HTTP ${through.stdout || '-'})`,
      fix: passed ? undefined : 'Is the proxy served (`berth egress serve`, or the daemon)? Does the target answer at all?',
    });
  }

  const refused = await curl([`http://${NEVER_ALLOWED}/`]);
  checks.push({
    id: 'egress.denied',
    status: refused.stdout === '403' ? 'ok' : 'fail',
    detail: refused.stdout === '403' ? `${NEVER_ALLOWED} is refused by the proxy (403)` : `expected the proxy's 403 for ${NEVER_ALLOWED}, got HTTP ${refused.stdout || '-'} (curl exit ${String(refused.exitCode)})`,
    fix: refused.stdout === '403' ? undefined : 'Is the proxy served (`berth egress serve`, or the daemon)?',
  });

  if (!egress.enforced) {
    checks.push({ id: 'egress.enforced', status: 'warn', detail: 'host mode: nothing stops a process from skipping the proxy', fix: 'Use docker or podman for enforced egress.' });
  } else if (target !== undefined) {
    const direct = await curl(['--noproxy', '*', target]);
    const blocked = direct.exitCode !== 0 && !/^[1-5]\d\d$/.test(direct.stdout);
    checks.push({
      id: 'egress.enforced',
      status: blocked ? 'ok' : 'fail',
      detail: blocked ? `a direct connection to ${target} that skips the proxy fails` : `a direct connection to ${target} got through (HTTP ${direct.stdout})`,
      fix: blocked ? undefined : 'The workspace is not on its internal network: recreate it with `berth up`.',
    });
  }
  if (egress.enforced) {
    if (record) checks.push(await hostCheck(record.proxyHost, record.proxyPort, (url) => curl(['--noproxy', '*', '-m', '3', url])));
  }
  return checks;
}

/** The host-side half: are the bridge's rules loaded (and, with --fix, put back)? */
async function shieldCheck(berth: Berth, id: string, bridge: string, fix: boolean): Promise<DoctorCheck> {
  if (shieldIntact(bridge)) return { id: 'egress.shield', status: 'ok', detail: `the host firewall rules on ${bridge} are in place` };
  if (fix) {
    const restored = await berth.restoreShield(id);
    if (restored?.shielded) return { id: 'egress.shield', status: 'ok', detail: `the host firewall rules on ${bridge} were gone; put them back` };
  }
  return {
    id: 'egress.shield',
    status: 'fail',
    detail: `the host firewall rules on ${bridge} are gone (a firewall reload or a reboot?): the workspace can reach services on this host`,
    fix: `berth up ${id} (or berth doctor --egress ${id} --fix) puts them back; they need root`,
  };
}

/**
 * The proof from inside: a listener on the proxy's own address (the host's side of the workspace
 * network), on another port, must get no connection from the workspace.
 */
async function hostCheck(host: string, proxyPort: number, curl: (url: string) => Promise<{ exitCode: number; stdout: string }>): Promise<DoctorCheck> {
  let reached = 0;
  const sockets = new Set<Socket>();
  const listener: Server = createServer((socket) => {
    reached++;
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.end('HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n');
  });
  try {
    await new Promise<void>((resolve, reject) => {
      listener.once('error', reject);
      listener.listen(0, host, resolve);
    });
  } catch (error) {
    return { id: 'egress.host', status: 'warn', detail: `could not listen on ${host} to probe the host from inside: ${error instanceof Error ? error.message : String(error)}` };
  }
  try {
    const port = (listener.address() as { port: number }).port;
    const attempt = await curl(`http://${host.includes(':') ? `[${host}]` : host}:${String(port)}/`);
    const blocked = reached === 0 && attempt.exitCode !== 0;
    return {
      id: 'egress.host',
      status: blocked ? 'ok' : 'fail',
      detail: blocked
        ? `the workspace cannot open a connection to this host (${host}:${String(port)}; only the proxy port ${String(proxyPort)} answers there)`
        : `the workspace reached a service on this host at ${host}:${String(port)}, around the proxy`,
      fix: blocked ? undefined : 'Put the host shield back: berth doctor --egress <id> --fix, or berth up <id> (needs root).',
    };
  } finally {
    // Connections that got in are cut, so closing never waits on a peer that went quiet.
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => listener.close(() => resolve()));
  }
}

/** The URL to probe for an allow rule: a concrete host or IP (not a wildcard or a CIDR block). */
function urlFor(pattern: string): string | undefined {
  if (pattern.startsWith('*.') || pattern.includes('/')) return undefined;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(pattern);
  const [host, port] = bracketed ? [`[${bracketed[1] ?? ''}]`, bracketed[2]] : pattern.split(':');
  if (!host) return undefined;
  return port === '443' || port === undefined ? `https://${host}/` : `http://${host}:${port}/`;
}
