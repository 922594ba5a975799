import { describe, expect, it } from 'vitest';
import {
  APPLE_DEFAULT_MEMORY_BYTES,
  APPLE_VM_OVERHEAD_BYTES,
  checkMemoryBudget,
  checkWorkspaceMemory,
  claimsOn,
  formatBytes,
  memoryBudget,
  memoryCost,
  type MemoryBudget,
} from '../../src/orchestrator/budget.js';
import { parseManifest } from '../../src/orchestrator/manifest.js';
import { thrownBy } from '../support/expect-code.js';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

describe('memory budget', () => {
  it('takes BERTH_MEMORY_BUDGET over the manifest, the manifest over 75 % of the host', () => {
    expect(memoryBudget({ BERTH_MEMORY_BUDGET: '6g' }, 2 * GiB, 16 * GiB)).toEqual({ bytes: 6 * GiB, source: 'BERTH_MEMORY_BUDGET=6g' });
    expect(memoryBudget({}, 2 * GiB, 16 * GiB)).toEqual({ bytes: 2 * GiB, source: 'budget.memory in the manifest' });
    expect(memoryBudget({ BERTH_MEMORY_BUDGET: ' ' }, null, 16 * GiB)).toEqual({ bytes: 12 * GiB, source: "75 % of this machine's 16g" });
  });

  it('says how to fix a malformed BERTH_MEMORY_BUDGET', () => {
    const error = thrownBy(() => memoryBudget({ BERTH_MEMORY_BUDGET: 'lots' }, null, GiB));
    expect(error.code).toBe('E_INVALID_INPUT');
    expect(error.message).toBe('BERTH_MEMORY_BUDGET must be a size such as 16g, got "lots".');
    expect(error.hint).toContain('Set it to a size with a unit');
  });

  it('counts the VM around every Apple workspace, and Apple’s default memory when none is declared', () => {
    expect(memoryCost({ id: 'a', runtime: 'docker', memoryBytes: null })).toBe(0);
    expect(memoryCost({ id: 'a', runtime: 'podman', memoryBytes: GiB })).toBe(GiB);
    expect(memoryCost({ id: 'a', runtime: 'apple', memoryBytes: 2 * GiB })).toBe(2 * GiB + APPLE_VM_OVERHEAD_BYTES);
    expect(memoryCost({ id: 'a', runtime: 'apple', memoryBytes: null })).toBe(APPLE_DEFAULT_MEMORY_BYTES + APPLE_VM_OVERHEAD_BYTES);
  });

  it('accepts a manifest at exactly the budget', () => {
    const budget: MemoryBudget = { bytes: 3 * GiB, source: 'test' };
    expect(() => checkMemoryBudget(claimsOn('docker', [{ id: 'a', spec: { memory: '1g' } }, { id: 'b', spec: { memory: '2g' } }, { id: 'c', spec: {} }]), budget)).not.toThrow();
  });

  it('refuses one byte over, naming every workspace with its share, largest first, and the ways out', () => {
    const claims = [...claimsOn('docker', [{ id: 'small', spec: { memory: '512m' } }, { id: 'unlimited', spec: {} }]), ...claimsOn('apple', [{ id: 'vm', spec: { memory: '2g' } }, { id: 'vm-default', spec: {} }])];
    const total = 512 * MiB + 2 * GiB + GiB + 2 * APPLE_VM_OVERHEAD_BYTES;
    const error = thrownBy(() => checkMemoryBudget(claims, { bytes: total - 1, source: 'budget.memory in the manifest' }));
    expect(error.code).toBe('E_INVALID_INPUT');
    expect(error.message).toBe(
      [
        'The declared workspaces need 3.88g of memory, over the budget of 3.87g (budget.memory in the manifest) by 1b:',
        '  vm: 2.19g (2g + 192m VM overhead)',
        "  vm-default: 1.19g (Apple's default 1g + 192m VM overhead)",
        '  small: 512m',
      ].join('\n'),
    );
    expect(error.hint).toBe('Lower memory: on the largest workspaces, declare fewer of them, or raise the budget (budget: { memory: 4g } in the manifest, or BERTH_MEMORY_BUDGET=4g).');
    expect(error.details).toMatchObject({ totalBytes: total, budgetBytes: total - 1 });
  });

  it('formats sizes the way a manifest writes them', () => {
    expect([formatBytes(1), formatBytes(1536), formatBytes(1.25 * GiB), formatBytes(16 * GiB)]).toEqual(['1b', '1.5k', '1.25g', '16g']);
  });

  it('reads budget.memory from the manifest, in bytes', () => {
    const state = parseManifest('version: 1\nbudget: { memory: 6g }\nworkspaces: {}\n', '/tmp/p/berth.yaml');
    expect(state.memoryBudget).toBe(6 * GiB);
    expect(parseManifest('version: 1\nworkspaces: {}\n', '/tmp/p/berth.yaml').memoryBudget).toBeNull();
  });

  it('checks one workspace (an up outside a manifest) by the same cost rule, naming where its memory came from', () => {
    const budget: MemoryBudget = { bytes: 2 * GiB, source: 'BERTH_MEMORY_BUDGET=2g' };
    checkWorkspaceMemory({ id: 'w', runtime: 'docker', memoryBytes: 2 * GiB }, budget, 'x');
    const error = thrownBy(() => checkWorkspaceMemory({ id: 'w', runtime: 'apple', memoryBytes: 2 * GiB }, budget, 'hostRequirements.memory in /p/devcontainer.json'));
    expect(error.code).toBe('E_INVALID_INPUT');
    expect(error.message).toBe('Workspace "w" needs 2.19g of memory (hostRequirements.memory in /p/devcontainer.json), over the budget of 2g (BERTH_MEMORY_BUDGET=2g).');
    expect(error.hint).toContain('BERTH_MEMORY_BUDGET=3g');
  });

  it('claims what a workspace naming no memory will get (a devcontainer hostRequirements), its own memory first', () => {
    const memoryOf = (w: { id: string }) => (w.id === 'dc' ? 3 * GiB : null);
    expect(claimsOn('podman', [{ id: 'dc', spec: {} }, { id: 'named', spec: { memory: '1g' } }, { id: 'plain', spec: {} }], memoryOf)).toEqual([
      { id: 'dc', runtime: 'podman', memoryBytes: 3 * GiB },
      { id: 'named', runtime: 'podman', memoryBytes: GiB },
      { id: 'plain', runtime: 'podman', memoryBytes: null },
    ]);
  });
});
