import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HostRuntime } from '../../src/runtime/host/host-runtime.js';
import { workspaceSuite } from './workspace-suite.js';

workspaceSuite('host', () =>
  Promise.resolve({ runtime: new HostRuntime({ stateDir: mkdtempSync(join(tmpdir(), 'berth-host-state-')) }), image: 'host' }),
);
