import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HostRuntime } from '../../src/runtime/host/host-runtime.js';
import { runtimeContract } from './runtime-contract.js';

// Sandboxed (bubblewrap, installed by scripts/test-env.sh) and unconfined: the same contract.
runtimeContract('host (sandboxed)', () =>
  Promise.resolve({ runtime: new HostRuntime({ stateDir: mkdtempSync(join(tmpdir(), 'berth-host-state-')), sandbox: 'on' }), image: 'host' }),
);

runtimeContract('host (unconfined)', () =>
  Promise.resolve({ runtime: new HostRuntime({ stateDir: mkdtempSync(join(tmpdir(), 'berth-host-state-')), sandbox: 'off' }), image: 'host' }),
);
