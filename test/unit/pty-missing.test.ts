import { describe, expect, it, vi } from 'vitest';

// A machine where node-pty could not be built: importing it fails as a missing native addon does.
vi.mock('node-pty', () => {
  throw new Error("Cannot find module '../build/Release/pty.node'");
});

describe('a terminal without node-pty', () => {
  it('is E_UNSUPPORTED naming the package and how to get it, not a raw module error', async () => {
    const { spawnOnPty } = await import('../../src/process/pty.js');
    const error: unknown = await spawnOnPty(['sh'], { cols: 80, rows: 24, env: process.env }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'E_UNSUPPORTED', details: { missing: 'node-pty' } });
    expect((error as Error).message).toContain('node-pty');
    expect((error as { hint?: string }).hint).toMatch(/npm install node-pty/);
  });

  it('an empty argv or a program not on PATH is said before node-pty is needed', async () => {
    const { spawnOnPty } = await import('../../src/process/pty.js');
    await expect(spawnOnPty([], { cols: 80, rows: 24, env: process.env })).rejects.toMatchObject({ code: 'E_INVALID_INPUT' });
    await expect(spawnOnPty(['no-such-program-berth-pty'], { cols: 80, rows: 24, env: process.env })).rejects.toMatchObject({ code: 'E_NOT_FOUND' });
  });
});
