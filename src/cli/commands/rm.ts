import { lifecycleCommand } from './lifecycle.js';

export default lifecycleCommand('rm', 'remove', 'Removed');
