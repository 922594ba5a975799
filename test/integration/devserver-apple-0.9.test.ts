import { TEST_IMAGE } from '../support/engines.js';
import { appleOnDouble } from '../support/apple-double.js';
import { devServerSuite } from './devserver-suite.js';

// Dev servers on Apple `container` 0.9.0, the oldest release Berth supports, through the test double.
devServerSuite('apple 0.9.0 (double)', () => Promise.resolve({ runtime: appleOnDouble('0.9.0'), image: TEST_IMAGE }));
