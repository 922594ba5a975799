import type { Berth } from '../berth.js';
import type { DoctorCheck } from './doctor.js';

/** A name no allowlist can contain: refusing it proves the proxy decides, without any DNS lookup. */
const NEVER_ALLOWED = 'berth-doctor-probe.invalid';

/**
 * Proves egress from inside the workspace, with the tools a developer would use (curl): the first
 * concrete allowed target answers through the proxy, a target outside the allowlist is refused with
 * 403, and a direct connection that skips the proxy fails. Only targets the owner allowed are
 * contacted; the refused one is refused before any lookup.
 */
export async function probeEgress(berth: Berth, id: string): Promise<DoctorCheck[]> {
  const egress = berth.egress(id);
  if (egress === null) return [{ id: 'egress', status: 'warn', detail: `workspace ${id} has no egress control`, fix: `berth up ${id} --allow <host>` }];
  const checks: DoctorCheck[] = [];
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
  return checks;
}

/** The URL to probe for an allow rule: a concrete host or IP (not a wildcard or a CIDR block). */
function urlFor(pattern: string): string | undefined {
  if (pattern.startsWith('*.') || pattern.includes('/')) return undefined;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(pattern);
  const [host, port] = bracketed ? [`[${bracketed[1] ?? ''}]`, bracketed[2]] : pattern.split(':');
  if (!host) return undefined;
  return port === '443' || port === undefined ? `https://${host}/` : `http://${host}:${port}/`;
}
