export { run, runStreaming, runInteractive, spawnDetached } from './run.js';
export type { RunOptions, StreamingOptions, RunResult, InteractiveOptions, DetachedOptions } from './run.js';
export { ProcessError } from './process-error.js';
export type { ProcessFailure } from './process-error.js';
export { resolveExecutable } from './resolve-executable.js';
export { formatCommand } from './format-command.js';
