import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { EXEC_MARKER } from './exec-cancel.js';

/**
 * exec-cancel.ts's marker kill, for host mode on Linux, made from Berth's own process: this
 * machine's /proc shows every host-mode process, sandboxed ones too (their pid namespaces are
 * children of ours, their user namespaces ours). The shell script through `exec` costs a process
 * per /proc entry per look (1.4 s a look among 170 processes on a loaded CI machine, where a
 * terminal's kill took 30 s); reading the files here costs milliseconds. Returns false where there
 * is no /proc (macOS): the caller uses the script.
 */
export async function killMarkedOnHost(id: string, first: NodeJS.Signals, graceMs: number): Promise<boolean> {
  let pids: number[];
  try {
    pids = marked(id);
  } catch {
    return false;
  }
  signalAll(pids, first);
  const deadline = Date.now() + graceMs;
  while (pids.length > 0 && Date.now() < deadline) {
    await sleep(50);
    pids = marked(id);
  }
  signalAll(pids, 'SIGKILL');
  return true;
}

function marked(id: string): number[] {
  const needle = `${EXEC_MARKER}=${id}\0`;
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (`${readFileSync(`/proc/${entry}/environ`, 'latin1')}\0`.includes(needle)) found.push(Number(entry));
    } catch {
      // Gone, or not ours to read (then not ours to signal either).
    }
  }
  return found;
}

function signalAll(pids: readonly number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // Already gone.
    }
  }
}
