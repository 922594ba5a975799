import { TEST_IMAGE } from '../support/engines.js';
import { appleOnDouble } from '../support/apple-double.js';
import { guestFirewallSuite } from './apple-firewall-suite.js';
import { egressSuite } from './egress-suite.js';

// The whole egress suite on Apple container 1.2.2 (the double, whose hostOnly networks route raw IP
// out as apple/container#2062 does): only the firewall inside the guest stops a direct connection.
// From 0.12 a container's processes start without CAP_NET_ADMIN: the firewall asks for it.
egressSuite('apple 1.2.2 (double)', () => Promise.resolve({ runtime: appleOnDouble('1.2.2'), image: TEST_IMAGE }));
guestFirewallSuite('1.2.2');
