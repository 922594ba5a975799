import { release } from 'node:os';
import type { AppleRuntime } from '../runtime/apple/apple-runtime.js';
import { isSupported, SUPPORTED_APPLE_VERSIONS } from '../runtime/apple/version.js';
import type { DoctorCheck } from './doctor.js';

/** macOS 15 is Darwin 24; macOS 26 is Darwin 25. */
const MACOS_26_DARWIN_MAJOR = 25;

/** What only an Apple `container` installation needs checking (research doc §5, §7, §8). */
export async function appleChecks(runtime: AppleRuntime, systemRunning: boolean, platform: NodeJS.Platform = process.platform): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = [];
  const version = await runtime.version().catch(() => undefined);
  checks.push(
    version === undefined
      ? { id: 'apple.version', status: 'fail', detail: `${runtime.binary} did not report a version`, fix: 'Reinstall Apple container, or point BERTH_CONTAINER_BIN at it.' }
      : isSupported(version)
        ? { id: 'apple.version', status: 'ok', detail: `container ${version.text}` }
        : {
            id: 'apple.version',
            status: 'warn',
            detail: `container ${version.text} is outside the versions Berth has parsers for (${SUPPORTED_APPLE_VERSIONS.min} to 1.4.x)`,
            fix: 'Berth will still try; report anything it cannot read.',
          },
  );
  // No command reports the kernel; Berth always starts the system with --enable-kernel-install
  // (unless configured otherwise), so a missing kernel is installed then instead of prompting.
  checks.push({
    id: 'apple.kernel',
    status: 'ok',
    detail: systemRunning ? 'the system runs, so its kernel is installed' : 'a missing kernel is installed when Berth starts the system (--enable-kernel-install)',
  });
  if (!systemRunning) return checks;
  const network = await runtime.defaultNetwork().catch((error: unknown) => error as Error);
  checks.push(
    network instanceof Error
      ? { id: 'apple.network', status: 'warn', detail: `cannot read the default network: ${network.message}` }
      : { id: 'apple.network', status: 'ok', detail: `default network ${network.subnet ?? '?'} (gateway ${network.gateway ?? '?'})` },
  );
  if (platform === 'darwin') {
    const darwinMajor = Number(release().split('.')[0]);
    if (darwinMajor < MACOS_26_DARWIN_MAJOR) {
      checks.push({
        id: 'apple.macos',
        status: 'warn',
        detail: 'macOS 15: containers can use only the default network, so egress cannot be enforced by a host-only network',
        fix: 'Upgrade to macOS 26 for host-only networks.',
      });
    }
    checks.push({
      id: 'apple.local-network',
      status: 'ok',
      detail: 'if container IPs do not answer from macOS, allow Local Network access for your terminal or app (System Settings → Privacy & Security → Local Network)',
    });
  }
  return checks;
}
