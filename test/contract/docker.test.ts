import { OciRuntime } from '../../src/runtime/oci/oci-runtime.js';
import { TEST_IMAGE, engineEnv } from '../support/engines.js';
import { runtimeContract } from './runtime-contract.js';

runtimeContract('docker', () => Promise.resolve({ runtime: new OciRuntime('docker', { env: engineEnv() }), image: TEST_IMAGE, imageStore: 'docker' }));
