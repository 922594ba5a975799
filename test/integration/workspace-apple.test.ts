import { TEST_IMAGE } from '../support/engines.js';
import { appleOnDouble } from '../support/apple-double.js';
import { workspaceSuite } from './workspace-suite.js';

// Workspaces on Apple `container` 1.2.2, through the test double of its CLI.
workspaceSuite('apple 1.2.2 (double)', () => Promise.resolve({ runtime: appleOnDouble('1.2.2'), image: TEST_IMAGE }));
