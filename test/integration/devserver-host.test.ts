import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HostRuntime } from '../../src/runtime/host/host-runtime.js';
import { devServerSuite } from './devserver-suite.js';

devServerSuite('host', () => Promise.resolve({ runtime: new HostRuntime({ stateDir: mkdtempSync(join(tmpdir(), 'berth-host-state-')) }), image: 'host' }));
