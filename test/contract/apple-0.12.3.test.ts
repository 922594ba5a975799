import { TEST_IMAGE } from '../support/engines.js';
import { appleOnDouble } from '../support/apple-double.js';
import { runtimeContract } from './runtime-contract.js';

// Apple `container` 0.12.3, the last 0.x line, through the test double of its CLI.
runtimeContract('apple 0.12.3 (double)', () => Promise.resolve({ runtime: appleOnDouble('0.12.3'), image: TEST_IMAGE, imageStore: 'podman' }));
