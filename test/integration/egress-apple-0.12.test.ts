import { TEST_IMAGE } from '../support/engines.js';
import { appleOnDouble } from '../support/apple-double.js';
import { guestFirewallSuite } from './apple-firewall-suite.js';
import { egressSuite } from './egress-suite.js';

// Egress on Apple container 0.12.3, the first line whose containers start without CAP_NET_ADMIN
// (SandboxService.swift@0.12.0, effectiveCapabilities): the suite (less the clients behind the proxy,
// which egress-apple.test.ts runs on 1.2.2: the same code on every release) and the guest firewall.
egressSuite('apple 0.12.3 (double)', () => Promise.resolve({ runtime: appleOnDouble('0.12.3'), image: TEST_IMAGE }), { proxyClients: false });
guestFirewallSuite('0.12.3');
