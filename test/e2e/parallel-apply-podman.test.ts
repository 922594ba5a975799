import { parallelApplySuite } from './parallel-apply-suite.js';

parallelApplySuite('podman');
