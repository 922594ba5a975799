import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Berth } from '../src/berth.js';
import type { OciKind } from '../src/runtime/oci/oci-runtime.js';
import type { Runtime } from '../src/runtime/types.js';
import { Store } from '../src/state/store.js';
import { installationId } from '../src/workspace/installation.js';
import { countingRuntime, type EngineCall } from '../test/support/counting-runtime.js';

/** A benchmark's own Berth, built as createBerth() builds it, but over a Runtime that counts every engine call. */
export interface ScratchBerth {
  berth: Berth;
  /** Every Runtime method call the berth made (cleared by the bench between measurements). */
  calls: EngineCall[];
  /** The temporary folder holding `home` and `root`. */
  scratch: string;
  /** BERTH_HOME of this run. */
  home: string;
  /** An empty project folder, for workspace roots. */
  root: string;
  /** Closes the store and removes the scratch folder. */
  dispose(): void;
}

export function scratchBerth(kind: OciKind, inner: Runtime, env: NodeJS.ProcessEnv, label: string): ScratchBerth {
  const scratch = mkdtempSync(join(tmpdir(), `berth-bench-${label}-${kind}-`));
  const home = join(scratch, 'berth-home');
  const root = join(scratch, 'project');
  mkdirSync(root);
  const { runtime, calls } = countingRuntime(inner);
  const store = Store.open(home);
  const berth = new Berth(runtime, { kind, source: 'flag', reports: [] }, { home, owner: installationId(home), env, userHome: homedir(), store });
  return {
    berth,
    calls,
    scratch,
    home,
    root,
    dispose: () => {
      store.close();
      rmSync(scratch, { recursive: true, force: true });
    },
  };
}
