import { TEST_IMAGE } from '../support/engines.js';
import { appleOnDouble } from '../support/apple-double.js';
import { runtimeContract } from './runtime-contract.js';

// Apple `container` 0.9.0, through the test double of its CLI (real podman containers underneath).
runtimeContract('apple 0.9.0 (double)', () => Promise.resolve({ runtime: appleOnDouble('0.9.0'), image: TEST_IMAGE, imageStore: 'podman' }));
