/**
 * What a hot ensure costs Berth itself, the cross-process lock included, with the engine taken out:
 * after one real `up` (docker), `observe` is replaced by the answer it gave, so every later `up` is
 * Berth's own work only (plan, hash, lock, ledger). Beside it, the lock alone, taken and released
 * as ensure takes it.
 * The engine's share of a hot ensure is one `observe` (bench/workspace.ts measures that).
 *
 * Usage: npx tsx bench/hot-ensure-lock.ts
 */
import { OciRuntime } from '../src/runtime/oci/oci-runtime.js';
import { scratchBerth } from './scratch-berth.js';
import { TEST_IMAGE, engineEnv } from '../test/support/engines.js';
import { FileLock, lockPaths } from '../src/state/file-lock.js';
const env = engineEnv();
const inner = new OciRuntime('docker', { env });
const s = scratchBerth('docker', inner, env, 'inproc');
const id = `inproc-${Date.now()}`;
try {
  await s.berth.up(id, { root: s.root, image: TEST_IMAGE });
  const observed = await inner.observe(`berth-${id}`, TEST_IMAGE);
  // The engine answered once; from here observe is instant, so what is timed is Berth's own work.
  (inner as unknown as { observe: unknown }).observe = () => Promise.resolve(observed);
  const med = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!.toFixed(3);
  const hot: number[] = [], lock: number[] = [];
  for (let i = 0; i < 400; i++) {
    let t = performance.now(); await s.berth.up(id, { root: s.root, image: TEST_IMAGE }); hot.push(performance.now() - t);
    t = performance.now(); (await FileLock.acquire(lockPaths.workspace(s.home, 'other'), { role: 'x', noteInBackground: true })).release(); lock.push(performance.now() - t);
  }
  console.log(`in-process hot ensure (observe excluded) median ${med(hot.slice(50))} ms; lock alone median ${med(lock.slice(50))} ms`);
} finally {
  await inner.remove(`berth-${id}`, { force: true });
  s.dispose();
}
