import { TEST_IMAGE } from '../support/engines.js';
import { appleOnDouble } from '../support/apple-double.js';
import { guestFirewallSuite } from './apple-firewall-suite.js';
import { egressSuite } from './egress-suite.js';

// Apple container 0.9.0, the oldest release Berth supports: every process has all capabilities and
// there is no --cap-add, so the firewall is set without asking and only the fence keeps root out.
// The egress suite too (0.9.0 is the first release with `network create --internal`), less the
// clients behind the proxy, which egress-apple.test.ts runs on 1.2.2 (the same code on every release).
egressSuite('apple 0.9.0 (double)', () => Promise.resolve({ runtime: appleOnDouble('0.9.0'), image: TEST_IMAGE }), { proxyClients: false });
guestFirewallSuite('0.9.0');
