import { onDemandSuite } from './daemon-on-demand-suite.js';

onDemandSuite('docker');
