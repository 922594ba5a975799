import { defineCommand } from '../args.js';
import { openBerth } from '../open-berth.js';
import { EXIT, printJson } from '../output.js';

const USAGE = 'Usage: berth reconcile [-f berth.yaml] [--concurrency N] [--json]   # one cycle: what drifted, what it fixed, what it left\n';

const MARK = { fixed: 'fixed ', failed: 'FAILED', hold: 'left  ', wait: 'later ', block: 'BLOCKED' } as const;

/**
 * One reconcile cycle, as the daemon runs them: fixes what policy allows and says what it left and
 * why. Exits 1 when a fix failed, something is blocked (a foreign container) or the cycle could not run.
 */
export default defineCommand({
  usage: USAGE,
  options: { file: { type: 'string', short: 'f' }, concurrency: { type: 'string' } },
  async run({ values }) {
    const [{ Reconciler }, { holdReconciler }] = await Promise.all([import('../../orchestrator/reconcile.js'), import('../reconciler-lock.js')]);
    const { parseConcurrency } = await import('../../orchestrator/concurrency.js');
    const concurrency = values.concurrency === undefined ? undefined : parseConcurrency(values.concurrency, '--concurrency');
    const manifest = values.file ?? 'berth.yaml';
    const lock = await holdReconciler('reconcile', manifest);
    const reconciler = new Reconciler({ manifest, runtime: values.runtime, open: (runtime) => openBerth(runtime), concurrency });
    const report = await reconciler.runOnce().finally(() => lock.release());
    const bad = report.error !== null || report.findings.some((f) => f.outcome === 'failed' || f.verdict === 'block');
    if (values.json) {
      printJson(report);
      return bad ? EXIT.user : EXIT.ok;
    }
    if (report.error !== null) process.stderr.write(`Reconcile could not run: ${report.error.message}\n${report.error.hint ? `hint: ${report.error.hint}\n` : ''}`);
    else if (report.findings.length === 0) process.stdout.write('Nothing drifted: the workspaces are as declared.\n');
    for (const f of report.findings) {
      const mark = f.outcome ?? f.verdict;
      process.stdout.write(`${MARK[mark === 'fix' ? 'fixed' : mark]}  ${f.summary}  (${f.runtime}): ${f.outcome === 'failed' ? (f.error ?? f.why) : f.why}\n`);
    }
    return bad ? EXIT.user : EXIT.ok;
  },
});
