import { join } from 'node:path';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');

/**
 * The layer rule of eslint.config.js, asked about code that is not in the tree: a rule whose
 * pattern matched nothing would let `npm run lint` pass on every upward import. Syntax only (the
 * files do not exist, so type-aware rules are off).
 */
async function layerErrors(file: string, code: string): Promise<string[]> {
  const eslint = new ESLint({ cwd: ROOT, overrideConfig: [{ files: ['**/*.ts'], ...tseslint.configs.disableTypeChecked }] });
  const [result] = await eslint.lintText(code, { filePath: join(ROOT, file) });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports' || m.ruleId === 'no-restricted-syntax').map((m) => m.message);
}

describe('the layer order of DESIGN.md, in lint', () => {
  it.each([
    ['src/orchestrator/x.ts', "import type { Berth } from '../berth.js';"],
    ['src/orchestrator/x.ts', "export const open = () => import('../berth.js');"],
    ['src/workspace/x.ts', "import type { Berth } from '../berth.js';"],
    ['src/devserver/x.ts', "import { runProbe } from '../orchestrator/probes.js';"],
    ['src/state/x.ts', "import { LABELS } from '../workspace/labels.js';"],
    ['src/state/x.ts', "import type { DevServer } from '../devserver/types.js';"],
    ['src/state/x.ts', "import type { EgressPolicy } from '../egress/policy.js';"],
    ['src/runtime/apple/x.ts', "import { needsNetAdmin } from '../../egress/guest-firewall.js';"],
    ['src/runtime/apple/x.ts', "import type { Store } from '../../state/store.js';"],
    // No longer a NOT_YET exception: the sensitive-path table lives in runtime/ now.
    ['src/runtime/host/x.ts', "import { protectedPaths } from '../../workspace/sensitive-paths.js';"],
    ['src/process/x.ts', "import { isLive } from '../devserver/types.js';"],
    ['src/errors.ts', "import { Store } from './state/store.js';"],
    ['src/berth.ts', "import { runCli } from './cli/run-cli.js';"],
  ])('refuses an upward import: %s: %s', async (file, code) => {
    const errors = await layerErrors(file, code);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^(?:'.*' import is restricted from being used by a pattern\. )?Upward import: docs\/DESIGN\.md's layers put /);
  });

  it.each([
    ['src/orchestrator/x.ts', "import { normalizeSpec } from '../workspace/spec.js';\nexport const load = () => import('./plan.js');"],
    ['src/devserver/x.ts', "import { LABELS } from '../workspace/labels.js';"],
    ['src/runtime/apple/x.ts', "import { run } from '../../process/index.js';\nimport { matchesFilter } from '../list-filter.js';"],
    ['src/berth.ts', "import { observe } from './orchestrator/observe.js';"],
    ['src/cli/x.ts', "import { startDaemon } from '../daemon/start.js';\nimport type { Berth } from '../berth.js';"],
  ])('lets a downward or same-layer import pass: %s', async (file, code) => {
    expect(await layerErrors(file, code)).toEqual([]);
  });

  it('still refuses child_process outside src/process', async () => {
    expect(await layerErrors('src/orchestrator/x.ts', "import { spawn } from 'node:child_process';")).toHaveLength(1);
    expect(await layerErrors('src/process/x.ts', "import { spawn } from 'node:child_process';")).toEqual([]);
  });
});
