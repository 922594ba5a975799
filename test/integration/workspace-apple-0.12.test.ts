import { TEST_IMAGE } from '../support/engines.js';
import { appleOnDouble } from '../support/apple-double.js';
import { workspaceSuite } from './workspace-suite.js';

// Workspaces on Apple `container` 0.12.3 (legacy JSON shapes, no `cp`), through the test double.
workspaceSuite('apple 0.12.3 (double)', () => Promise.resolve({ runtime: appleOnDouble('0.12.3'), image: TEST_IMAGE }));
