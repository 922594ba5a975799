import { performance } from 'node:perf_hooks';
import type { Runtime } from '../../src/runtime/types.js';

/** One Runtime method call, i.e. one engine call: its name, and its duration in ms (NaN until it settles). */
export interface EngineCall {
  method: string;
  ms: number;
}

/**
 * The runtime behind a Proxy that records every method call, i.e. every engine call, with its
 * duration: tests count the calls a workspace operation costs, benchmarks also time them. Calls go
 * to the real runtime as `this`, so its internal calls are not counted twice.
 */
export function countingRuntime(runtime: Runtime): { runtime: Runtime; calls: EngineCall[] } {
  const calls: EngineCall[] = [];
  const proxy = new Proxy(runtime, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]): unknown => {
        const call: EngineCall = { method: String(property), ms: Number.NaN };
        calls.push(call);
        const start = performance.now();
        const result = (value as (...a: unknown[]) => unknown).apply(target, args);
        if (!(result instanceof Promise)) {
          call.ms = performance.now() - start;
          return result;
        }
        return (result as Promise<unknown>).finally(() => {
          call.ms = performance.now() - start;
        });
      };
    },
  });
  return { runtime: proxy, calls };
}
