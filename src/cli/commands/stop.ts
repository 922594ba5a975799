import { lifecycleCommand } from './lifecycle.js';

export default lifecycleCommand('stop', 'stop', 'Stopped');
