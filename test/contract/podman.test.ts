import { OciRuntime } from '../../src/runtime/oci/oci-runtime.js';
import { TEST_IMAGE, engineEnv } from '../support/engines.js';
import { runtimeContract } from './runtime-contract.js';

runtimeContract('podman', () => Promise.resolve({ runtime: new OciRuntime('podman', { env: engineEnv() }), image: TEST_IMAGE, imageStore: 'podman' }));
