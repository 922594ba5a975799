import { OciRuntime } from '../runtime/oci/oci-runtime.js';
import type { Runtime } from '../runtime/types.js';
import type { DoctorCheck } from './doctor.js';

/**
 * Whether ensure()'s hot path (observe, inspect, start) reaches docker or podman over its API
 * socket or through its CLI. Both work; the CLI costs 10–30 ms more per call, which is most of what
 * a warm `berth up` adds to the engine's own start.
 */
export async function engineApiCheck(runtime: Runtime, image: string): Promise<DoctorCheck> {
  if (!(runtime instanceof OciRuntime)) return { id: 'engine.api', status: 'ok', detail: `${runtime.kind} has no API socket Berth uses` };
  // A real call: a socket that is configured but does not answer falls back to the CLI here.
  await runtime.observe('berth-doctor-api-probe', image).catch(() => undefined);
  const socket = await runtime.apiSocket();
  if (socket !== null) return { id: 'engine.api', status: 'ok', detail: `${runtime.kind} API socket ${socket} answers (observe, inspect and start use it)` };
  return {
    id: 'engine.api',
    status: 'warn',
    detail: `no ${runtime.kind} API socket answers; every engine call goes through the ${runtime.kind} CLI (10–30 ms more per call)`,
    fix:
      runtime.kind === 'podman'
        ? "Enable podman's socket (`systemctl --user enable --now podman.socket`; as root `systemctl enable --now podman.socket`), or point BERTH_PODMAN_API at a podman API socket."
        : 'Berth uses the socket in DOCKER_HOST (unix://) or /var/run/docker.sock; with a docker context or a remote host it keeps the CLI. BERTH_DOCKER_API can name a socket.',
  };
}
