import { OciRuntime } from '../../src/runtime/oci/oci-runtime.js';
import { engineCli } from '../support/behind-the-back.js';
import { TEST_IMAGE, engineEnv } from '../support/engines.js';
import { reconcileSuite } from './reconcile-suite.js';

reconcileSuite('podman', () => Promise.resolve({ runtime: new OciRuntime('podman', { env: engineEnv() }), image: TEST_IMAGE, behind: engineCli('podman') }));
