export { applyCommand as default } from './plan.js';
