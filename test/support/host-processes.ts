import { readFileSync, readdirSync } from 'node:fs';

/**
 * Processes on this machine whose command line starts with `needle`: how a host-mode test sees
 * what a workspace left running (sandboxed ones included: their pid namespaces are children of ours).
 */
export function hostProcesses(needle: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((entry) => /^\d+$/.test(entry))) {
    try {
      const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
      if (command.startsWith(needle)) found.push(`${pid} ${command}`);
    } catch {
      // Gone between the listing and the read.
    }
  }
  return found;
}
