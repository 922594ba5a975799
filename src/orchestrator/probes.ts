import { request } from 'node:http';
import { tcpProbe } from '../devserver/answering.js';
import type { Runtime } from '../runtime/types.js';

/**
 * Health probes: an exec in the workspace, an HTTP GET, a TCP connect. Each answers pass or fail
 * (with why) within its timeout and never throws: a probe that cannot even run has failed.
 */

export type Probe =
  | { kind: 'exec'; command: readonly string[] }
  | { kind: 'http'; host: string; port: number; path: string }
  | { kind: 'tcp'; host: string; port: number };

export interface ProbeResult {
  ok: boolean;
  /** One line for events: `exit 1`, `HTTP 404`, `connection refused`, `timed out after 2000 ms`. */
  detail: string;
}

export async function runProbe(probe: Probe, timeoutMs: number, runtime: Pick<Runtime, 'exec'>, target: string): Promise<ProbeResult> {
  switch (probe.kind) {
    case 'exec':
      return execProbe(runtime, target, probe.command, timeoutMs);
    case 'http':
      return httpProbe(probe.host, probe.port, probe.path, timeoutMs);
    case 'tcp':
      return tcpProbe(probe.host, probe.port, timeoutMs);
  }
}

async function execProbe(runtime: Pick<Runtime, 'exec'>, target: string, command: readonly string[], timeoutMs: number): Promise<ProbeResult> {
  try {
    const result = await runtime.exec(target, command, { timeoutMs });
    return result.exitCode === 0 ? { ok: true, detail: 'exit 0' } : { ok: false, detail: `exit ${String(result.exitCode)}${result.stderr.trim() ? `: ${result.stderr.trim().split('\n').pop() ?? ''}` : ''}` };
  } catch (error) {
    return { ok: false, detail: error instanceof Error ? error.message.split('\n')[0] ?? error.message : String(error) };
  }
}

/** 2xx and 3xx pass, as in most orchestrators; the body is not read past its first chunk. */
function httpProbe(host: string, port: number, path: string, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const req = request({ host, port, path, method: 'GET', timeout: timeoutMs, headers: { 'user-agent': 'berth-probe' } }, (res) => {
      const status = res.statusCode ?? 0;
      res.destroy();
      resolve({ ok: status >= 200 && status < 400, detail: `HTTP ${String(status)}` });
    });
    req.on('timeout', () => req.destroy(new Error(`timed out after ${String(timeoutMs)} ms`)));
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ ok: false, detail: error.code === 'ECONNREFUSED' ? 'connection refused' : error.message }));
    req.end();
  });
}
