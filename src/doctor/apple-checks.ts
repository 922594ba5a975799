import { release } from 'node:os';
import { isBerthError } from '../errors.js';
import type { AppleRuntime } from '../runtime/apple/apple-runtime.js';
import { NETWORKS_NEED_MACOS_26 } from '../runtime/apple/classify-error.js';
import { has, isNewerThanChecked, isSupported, MIN_APPLE_VERSION, NEWEST_CHECKED_APPLE_VERSION, since, type AppleVersion } from '../runtime/apple/version.js';
import type { DoctorCheck } from './doctor.js';

/** macOS 15 is Darwin 24; macOS 26 is Darwin 25. */
const MACOS_26_DARWIN_MAJOR = 25;

/** What only an Apple `container` installation needs checking (research doc §5, §7, §8). */
export async function appleChecks(runtime: AppleRuntime, systemRunning: boolean, platform: NodeJS.Platform = process.platform): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = [];
  const version = await runtime.version().catch(() => undefined);
  checks.push(versionCheck(runtime, version));
  if (version === undefined || !isSupported(version)) return checks;
  checks.push(releaseCheck(version));
  // No command reports the kernel; Berth starts the system with --enable-kernel-install (unless
  // configured otherwise), so a missing kernel is installed then instead of prompting.
  checks.push({
    id: 'apple.kernel',
    status: 'ok',
    detail: systemRunning
      ? 'the system runs, so a kernel is installed (an old one, kept from before 0.9, lacks IPv6 netfilter: egress then says how to update it)'
      : 'a missing kernel is installed when Berth starts the system (--enable-kernel-install)',
  });
  if (!systemRunning) return checks;
  const network = await runtime.defaultNetwork().catch((error: unknown) => error as Error);
  checks.push(
    !(network instanceof Error)
      ? { id: 'apple.network', status: 'ok', detail: `default network ${network.subnet ?? '?'} (gateway ${network.gateway ?? '?'})` }
      : isBerthError(network, 'E_UNSUPPORTED')
        ? { id: 'apple.network', status: 'warn', detail: NETWORKS_NEED_MACOS_26, fix: 'Upgrade to macOS 26 for host-only networks and egress control.' }
        : { id: 'apple.network', status: 'warn', detail: `cannot read the default network: ${network.message}` },
  );
  if (platform === 'darwin') {
    const darwinMajor = Number(release().split('.')[0]);
    if (darwinMajor < MACOS_26_DARWIN_MAJOR && !(network instanceof Error && isBerthError(network, 'E_UNSUPPORTED'))) {
      checks.push({ id: 'apple.macos', status: 'warn', detail: NETWORKS_NEED_MACOS_26, fix: 'Upgrade to macOS 26 for host-only networks.' });
    }
    checks.push({
      id: 'apple.local-network',
      status: 'ok',
      detail: 'if container IPs do not answer from macOS, allow Local Network access for your terminal or app (System Settings → Privacy & Security → Local Network)',
    });
  }
  return checks;
}

function versionCheck(runtime: AppleRuntime, version: AppleVersion | undefined): DoctorCheck {
  if (version === undefined) {
    return { id: 'apple.version', status: 'fail', detail: `${runtime.binary} did not report a version`, fix: 'Reinstall Apple container, or point BERTH_CONTAINER_BIN at it.' };
  }
  if (!isSupported(version)) {
    return {
      id: 'apple.version',
      status: 'fail',
      detail: `container ${version.text} is older than ${MIN_APPLE_VERSION}, the oldest release Berth supports; Berth refuses to use it`,
      fix: `Upgrade Apple container to ${MIN_APPLE_VERSION} or later (https://github.com/apple/container/releases).`,
    };
  }
  if (isNewerThanChecked(version)) {
    return {
      id: 'apple.version',
      status: 'warn',
      detail: `container ${version.text} is newer than ${NEWEST_CHECKED_APPLE_VERSION}, the newest release Berth was checked against; Berth still uses it`,
      fix: 'Report anything Berth cannot read.',
    };
  }
  return { id: 'apple.version', status: 'ok', detail: `container ${version.text}` };
}

/** What this release gives Berth and what it lacks, from version-gates.json. */
function releaseCheck(version: AppleVersion): DoctorCheck {
  const works: string[] = ['workspaces', 'preview ports', 'egress control (host-only network + guest firewall, macOS 26)'];
  const differs: string[] = [];
  if (has(version, 'capabilities.oci-default')) works.push('the guest firewall gets CAP_NET_ADMIN with --cap-add, and commands Berth runs drop it');
  else works.push('every container process has all capabilities; commands Berth runs drop CAP_NET_ADMIN');
  if (has(version, 'cp')) works.push('container cp');
  else differs.push(`no \`container cp\` before ${since('cp')}: copies go through tar over exec`);
  if (has(version, 'create.init')) works.push('--init');
  else differs.push(`no --init before ${since('create.init')}: a small sh wrapper forwards stop signals`);
  if (!has(version, 'system start.timeout')) differs.push(`no \`system start --timeout\` before ${since('system start.timeout')}: the start waits the CLI's default`);
  return { id: 'apple.release', status: 'ok', detail: `on ${version.text}: ${works.join('; ')}${differs.length > 0 ? `. Differs here: ${differs.join('; ')}` : ''}` };
}
