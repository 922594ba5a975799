/**
 * What a process costs while idle, read from /proc: RSS every second, CPU time at both ends, its own
 * (utime + stime) apart from that of the children it ran and reaped (cutime + cstime: engine CLIs).
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { checkInterrupted } from './support.js';

export interface Idle {
  label: string;
  seconds: number;
  rssMeanMb: number;
  rssMaxMb: number;
  /** Share of one core, in percent. */
  cpuPercent: number;
  /** The reaped children's (engine CLIs), share of one core in percent. */
  childCpuPercent: number;
}

/** Reads the daemon for `seconds` while nothing calls it. */
export async function idlePhase(pid: number, label: string, seconds: number, clockTicks: number): Promise<Idle> {
  process.stderr.write(`bench: idle ${String(seconds)} s: ${label}...\n`);
  const before = cpuTicks(pid);
  const startedAt = performance.now();
  const rss: number[] = [];
  for (let s = 0; s < seconds; s++) {
    checkInterrupted();
    rss.push(rssMb(pid));
    await sleep(1000);
  }
  const after = cpuTicks(pid);
  const elapsed = (performance.now() - startedAt) / 1000;
  const share = (ticks: number): number => (ticks / clockTicks / elapsed) * 100;
  return {
    label,
    seconds,
    rssMeanMb: rss.reduce((a, b) => a + b, 0) / rss.length,
    rssMaxMb: Math.max(...rss),
    cpuPercent: share(after.own - before.own),
    childCpuPercent: share(after.children - before.children),
  };
}

/** utime + stime, and cutime + cstime (reaped children), in clock ticks. */
function cpuTicks(pid: number): { own: number; children: number } {
  const stat = readFileSync(`/proc/${String(pid)}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces), from field 3 (state) on.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
  const at = (field: number): number => fields[field - 3] ?? 0;
  return { own: at(14) + at(15), children: at(16) + at(17) };
}

function rssMb(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${String(pid)}/status`, 'utf8'));
  return Number(match?.[1] ?? Number.NaN) / 1024;
}
