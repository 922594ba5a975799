import { TEST_IMAGE } from '../support/engines.js';
import { appleOnDouble } from '../support/apple-double.js';
import { runtimeContract } from './runtime-contract.js';

// Apple `container` 1.2.2, through the test double of its CLI (real podman containers underneath).
runtimeContract('apple 1.2.2 (double)', () => Promise.resolve({ runtime: appleOnDouble('1.2.2'), image: TEST_IMAGE, imageStore: 'podman' }));
