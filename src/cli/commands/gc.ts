import { defineCommand } from '../args.js';
import { openBerth } from '../open-berth.js';
import { EXIT, printJson } from '../output.js';

/**
 * Dry run by default. Removes only containers that carry this installation's labels AND are in its
 * ledger AND whose workspace folder is gone; closes ledger entries whose container no longer exists;
 * removes the named volumes and the compose services Berth made for workspaces that no longer exist,
 * once older than 10 minutes (orchestrator/gc.ts).
 */
export default defineCommand({
  usage: 'Usage: berth gc [--yes] [--json] [--runtime R]\n',
  options: { yes: { type: 'boolean', short: 'y' } },
  async run({ values }) {
    const berth = await openBerth(values.runtime);
    const report = await berth.gc({ apply: values.yes });
    if (values.json) {
      printJson(report);
      return EXIT.ok;
    }
    const verb = report.applied ? 'Removed' : 'Would remove';
    const any = report.containers.length > 0 || report.forgotten.length > 0 || report.volumes.length > 0 || report.services.length > 0;
    if (!any) process.stdout.write(`Nothing to clean up on ${berth.runtime.kind}.\n`);
    for (const c of report.containers) process.stdout.write(`${verb} ${c.name}: ${c.reason}\n`);
    for (const f of report.forgotten) process.stdout.write(`${report.applied ? 'Forgot' : 'Would forget'} ${f.name}: no longer exists (ledger only)\n`);
    for (const s of report.services) process.stdout.write(`${verb} the compose service ${s.name}: ${s.reason}\n`);
    for (const v of report.volumes) {
      process.stdout.write(v.error === undefined ? `${verb} the volume ${v.name}: ${v.reason}\n` : `Kept the volume ${v.name} (${v.reason}): ${v.error}\n`);
    }
    if (!report.applied && any) process.stdout.write('Run `berth gc --yes` to do exactly this.\n');
    return EXIT.ok;
  },
});
