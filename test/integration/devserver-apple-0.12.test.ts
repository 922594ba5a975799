import { TEST_IMAGE } from '../support/engines.js';
import { appleOnDouble } from '../support/apple-double.js';
import { devServerSuite } from './devserver-suite.js';

// Dev servers on Apple `container` 0.12.3, through the test double.
devServerSuite('apple 0.12.3 (double)', () => Promise.resolve({ runtime: appleOnDouble('0.12.3'), image: TEST_IMAGE }));
