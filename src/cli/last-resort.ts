/**
 * The last resort of a long-running Berth process (the daemon, `berth egress serve`): a promise
 * rejection nobody handled is written to stderr instead of ending the process, which would take
 * every workspace's egress, the API and the reconcile loop with it. Each connection already has its
 * own error boundary (the egress proxy's `contain`); reaching this is a bug to report, not a way of
 * handling errors. Thrown exceptions are left alone: the state after one is unknown.
 */
let installed = false;

export function keepServingOnUnhandledRejection(processName: string): void {
  if (installed) return;
  installed = true;
  process.on('unhandledRejection', (reason) => {
    const text = reason instanceof Error ? (reason.stack ?? reason.message) : String(reason);
    process.stderr.write(`${processName}: an unhandled rejection (a bug in Berth; please report it), still serving:\n${text}\n`);
  });
}
