import { describe, expect, it } from 'vitest';
import { BerthError } from '../../src/errors.js';
import type { RuntimeKind } from '../../src/runtime/kinds.js';
import { RuntimeRegistry } from '../../src/runtime/registry.js';
import { expectCode } from '../support/expect-code.js';

/** A fake runtime's lane: which kind, and the how-many-th open made it. */
interface FakeLane {
  kind: RuntimeKind;
  serial: number;
}

/** A registry over fake runtimes: `down` kinds fail to open, as an engine that is not there does. */
function fakeRegistry(down: Set<RuntimeKind>, clock = { now: 0 }) {
  const opens: RuntimeKind[] = [];
  const registry = new RuntimeRegistry<FakeLane>({
    defaultKind: 'podman',
    retryMs: 1000,
    now: () => clock.now,
    open: (kind) => {
      opens.push(kind);
      if (down.has(kind)) return Promise.reject(new Error(`cannot connect to the ${kind} engine`));
      return Promise.resolve({ kind, serial: opens.length });
    },
  });
  return { registry, opens, clock };
}

describe('RuntimeRegistry', () => {
  it('opens a runtime only when asked, once, and shares the opening between callers', async () => {
    const { registry, opens } = fakeRegistry(new Set());
    expect(opens).toEqual([]);
    expect(registry.states().find((s) => s.kind === 'host')).toEqual({ kind: 'host', default: false, state: 'idle', reason: null });
    const [a, b] = await Promise.all([registry.get('host'), registry.get('host')]);
    expect(a).toBe(b);
    expect(opens).toEqual(['host']);
    expect(registry.states().find((s) => s.kind === 'host')?.state).toBe('connected');
    expect(registry.states().find((s) => s.kind === 'podman')).toMatchObject({ default: true, state: 'idle' });
  });

  it('takes a seeded lane (the default runtime) without opening it', async () => {
    const { registry, opens } = fakeRegistry(new Set());
    registry.seed('podman', { kind: 'podman', serial: 0 });
    expect((await registry.get('podman')).serial).toBe(0);
    expect(opens).toEqual([]);
    expect(await registry.opened()).toEqual([{ kind: 'podman', serial: 0 }]);
  });

  it('fails only the unavailable runtime, with E_RUNTIME_UNAVAILABLE naming it, and asks it again after retryMs', async () => {
    const { registry, opens, clock } = fakeRegistry(new Set<RuntimeKind>(['apple']));
    const error = await expectCode(registry.get('apple'), 'E_RUNTIME_UNAVAILABLE');
    expect(error.message).toMatch(/apple runtime is not available: cannot connect to the apple engine/);
    expect(error.details).toEqual({ runtime: 'apple' });
    expect(error.hint).toMatch(/other runtimes are not affected/);
    // Another runtime is untouched by it.
    expect((await registry.get('host')).kind).toBe('host');
    expect(registry.states().find((s) => s.kind === 'apple')).toMatchObject({ state: 'unavailable', reason: expect.stringMatching(/cannot connect/) as unknown });
    // Within retryMs: the same answer, no new probe.
    await expectCode(registry.get('apple'), 'E_RUNTIME_UNAVAILABLE');
    expect(opens.filter((k) => k === 'apple')).toHaveLength(1);
    // After it: asked again (an engine started meanwhile is found).
    clock.now += 1001;
    await expectCode(registry.get('apple'), 'E_RUNTIME_UNAVAILABLE');
    expect(opens.filter((k) => k === 'apple')).toHaveLength(2);
    expect(await registry.opened()).toEqual([{ kind: 'host', serial: 2 }]);
  });

  it("keeps a runtime's own E_RUNTIME_UNAVAILABLE (its hint included)", async () => {
    const registry = new RuntimeRegistry<FakeLane>({
      defaultKind: 'docker',
      open: (kind) => Promise.reject(new BerthError('E_RUNTIME_UNAVAILABLE', `The ${kind} runtime is not available: daemon not running`, { hint: 'Start dockerd.' })),
    });
    const error = await expectCode(registry.get('docker'), 'E_RUNTIME_UNAVAILABLE');
    expect(error.hint).toBe('Start dockerd.');
  });
});
