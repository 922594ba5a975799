import { defineCommand } from '../args.js';
import { EXIT, printJson } from '../output.js';

const MARK = { ok: 'ok  ', warn: 'warn', fail: 'FAIL' } as const;

export default defineCommand({
  usage: 'Usage: berth doctor [--json] [--fix] [--image REF] [--egress ID] [--runtime R]\n  --egress ID also proves, from inside that workspace, that its egress rules hold.\n',
  options: { fix: { type: 'boolean' }, image: { type: 'string' }, egress: { type: 'string' } },
  async run({ values }) {
    const { runDoctor } = await import('../../doctor/doctor.js');
    const report = await runDoctor({ runtime: values.runtime, image: values.image, fix: values.fix });
    if (values.egress !== undefined) {
      const [{ probeEgress }, { openBerth }] = await Promise.all([import('../../doctor/egress-probe.js'), import('../open-berth.js')]);
      report.checks.push(...(await probeEgress(await openBerth(values.runtime, values.egress), values.egress, { fix: values.fix === true })));
      report.ok = report.checks.every((c) => c.status !== 'fail');
    }
    if (values.json) printJson(report);
    else {
      for (const check of report.checks) {
        process.stdout.write(`[${MARK[check.status]}] ${check.id}: ${check.detail}\n`);
        if (check.fix && check.status !== 'ok') process.stdout.write(`       fix: ${check.fix}\n`);
      }
      process.stdout.write(report.ok ? 'Berth is ready.\n' : 'Berth is not ready: fix the FAIL lines above.\n');
    }
    return report.ok ? EXIT.ok : EXIT.user;
  },
});
