import { AppleRuntime } from '../../src/runtime/apple/apple-runtime.js';
import { appleCli } from '../support/behind-the-back.js';
import { appleDoubleEnv } from '../support/apple-double.js';
import { TEST_IMAGE } from '../support/engines.js';
import { reconcileSuite } from './reconcile-suite.js';

// The reconcile loop on Apple container 1.2.2 (the double); changes behind Berth's back go through `container`.
reconcileSuite('apple 1.2.2 (double)', async () => {
  const env = appleDoubleEnv('1.2.2');
  const runtime = new AppleRuntime({ env, startSystem: true });
  // The suite's first act is a foreign container made with `container` itself: the system must be up.
  await runtime.ensureSystem({ start: true });
  return { runtime, image: TEST_IMAGE, behind: appleCli(env) };
});
