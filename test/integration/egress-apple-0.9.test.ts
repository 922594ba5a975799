import { guestFirewallSuite } from './apple-firewall-suite.js';

// Apple container 0.9.0, the oldest release Berth supports: every process has all capabilities and
// there is no --cap-add, so the firewall is set without asking and only the fence keeps root out.
guestFirewallSuite('0.9.0');
