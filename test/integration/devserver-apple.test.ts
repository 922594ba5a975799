import { TEST_IMAGE } from '../support/engines.js';
import { appleOnDouble } from '../support/apple-double.js';
import { devServerSuite } from './devserver-suite.js';

// Apple: URLs come from the preview port pool published at create.
devServerSuite('apple 1.2.2 (double)', () => Promise.resolve({ runtime: appleOnDouble('1.2.2'), image: TEST_IMAGE }));
