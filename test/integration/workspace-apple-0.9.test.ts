import { TEST_IMAGE } from '../support/engines.js';
import { appleOnDouble } from '../support/apple-double.js';
import { workspaceSuite } from './workspace-suite.js';

// Workspaces on Apple `container` 0.9.0, the oldest release Berth supports (no --init, no `cp`,
// no system start --timeout), through the test double.
workspaceSuite('apple 0.9.0 (double)', () => Promise.resolve({ runtime: appleOnDouble('0.9.0'), image: TEST_IMAGE }));
