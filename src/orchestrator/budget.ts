import { totalmem } from 'node:os';
import { BerthError } from '../errors.js';
import type { RuntimeKind } from '../runtime/types.js';
import { parseMemory } from '../workspace/spec.js';

/**
 * Resource guardrails: the memory a manifest declares, summed, against a budget, so `plan` refuses a
 * manifest that would push the machine into swap or the OOM killer before anything is created.
 * Pure apart from reading the host's total memory (a default the caller can replace).
 */

/**
 * Every Apple container is a lightweight VM: the VM gets its memory limit plus 128 MiB
 * (containerization's LinuxContainer.create, 1.x; see research/apple-container.md), and each runs a
 * `container-runtime-linux` helper on the host, counted here as 64 MiB (an estimate, not measured:
 * no real Mac in this project's tests yet). One constant, to tune once it is measured.
 */
export const APPLE_VM_OVERHEAD_BYTES = (128 + 64) * 1024 ** 2;

/**
 * Apple `container run` gives a VM 1 GiB when no memory is named, so an undeclared one still costs
 * that; and a guest's freed pages are not returned to macOS, so the whole limit counts.
 */
export const APPLE_DEFAULT_MEMORY_BYTES = 1024 ** 3;

/** Without an explicit budget, declared memory may take this share of the host's memory. */
export const DEFAULT_BUDGET_SHARE = 0.75;

/** The environment variable that sets the budget on this machine (wins over the manifest). */
export const BUDGET_ENV = 'BERTH_MEMORY_BUDGET';

export interface MemoryBudget {
  bytes: number;
  /** Where the number came from, for the message: the variable, the manifest, or the host default. */
  source: string;
}

/** One workspace's claim on the budget. */
export interface MemoryClaim {
  id: string;
  runtime: RuntimeKind;
  /** The declared limit, or null (no limit). */
  memoryBytes: number | null;
}

/** BERTH_MEMORY_BUDGET > the manifest's `budget.memory` > 75 % of this host's memory. */
export function memoryBudget(env: NodeJS.ProcessEnv, manifestBytes: number | null, hostBytes: number = totalmem()): MemoryBudget {
  const fromEnv = env[BUDGET_ENV];
  if (fromEnv !== undefined && fromEnv.trim() !== '') {
    try {
      return { bytes: parseMemory(fromEnv), source: `${BUDGET_ENV}=${fromEnv}` };
    } catch (cause) {
      throw new BerthError('E_INVALID_INPUT', `${BUDGET_ENV} must be a size such as 16g, got ${JSON.stringify(fromEnv)}.`, {
        hint: `Set it to a size with a unit (512m, 16g), or unset it to use the manifest's budget.memory or ${String(DEFAULT_BUDGET_SHARE * 100)} % of this machine's memory.`,
        cause,
      });
    }
  }
  if (manifestBytes !== null) return { bytes: manifestBytes, source: 'budget.memory in the manifest' };
  return { bytes: Math.floor(hostBytes * DEFAULT_BUDGET_SHARE), source: `${String(DEFAULT_BUDGET_SHARE * 100)} % of this machine's ${formatBytes(hostBytes)}` };
}

/** What a workspace costs the host: its limit, plus the VM around it on Apple. */
export function memoryCost(claim: MemoryClaim): number {
  if (claim.runtime !== 'apple') return claim.memoryBytes ?? 0;
  return (claim.memoryBytes ?? APPLE_DEFAULT_MEMORY_BYTES) + APPLE_VM_OVERHEAD_BYTES;
}

/**
 * Throws when the claims together exceed the budget, naming each workspace's share (largest first)
 * and the ways out. Workspaces without a limit on docker, podman or the host count as 0: nothing
 * reserves memory for them.
 */
export function checkMemoryBudget(claims: readonly MemoryClaim[], budget: MemoryBudget): void {
  const costs = claims.map((claim) => ({ ...claim, cost: memoryCost(claim) })).filter((c) => c.cost > 0);
  const total = costs.reduce((sum, c) => sum + c.cost, 0);
  if (total <= budget.bytes) return;
  const lines = [...costs]
    .sort((a, b) => b.cost - a.cost || (a.id < b.id ? -1 : 1))
    .map((c) => `  ${c.id}: ${formatBytes(c.cost)}${c.runtime === 'apple' ? ` (${c.memoryBytes === null ? `Apple's default ${formatBytes(APPLE_DEFAULT_MEMORY_BYTES)}` : formatBytes(c.memoryBytes)} + ${formatBytes(APPLE_VM_OVERHEAD_BYTES)} VM overhead)` : ''}`);
  throw new BerthError(
    'E_INVALID_INPUT',
    `The declared workspaces need ${formatBytes(total)} of memory, over the budget of ${formatBytes(budget.bytes)} (${budget.source}) by ${formatBytes(total - budget.bytes)}:\n${lines.join('\n')}`,
    {
      hint: `Lower memory: on the largest workspaces, declare fewer of them, or raise the budget (budget: { memory: ${formatBytes(roundUpGiB(total))} } in the manifest, or ${BUDGET_ENV}=${formatBytes(roundUpGiB(total))}).`,
      details: { totalBytes: total, budgetBytes: budget.bytes, budgetSource: budget.source, workspaces: costs.map((c) => ({ id: c.id, runtime: c.runtime, bytes: c.cost })) },
    },
  );
}

/**
 * One workspace's memory against the budget, for an up outside a manifest (a devcontainer's
 * hostRequirements.memory, a `--memory`): the same cost rule as a manifest's, and a message that
 * says where the number came from. A workspace the machine cannot hold is refused before anything
 * is built or created.
 */
export function checkWorkspaceMemory(claim: MemoryClaim, budget: MemoryBudget, from: string): void {
  const cost = memoryCost(claim);
  if (cost <= budget.bytes) return;
  throw new BerthError('E_INVALID_INPUT', `Workspace "${claim.id}" needs ${formatBytes(cost)} of memory (${from}), over the budget of ${formatBytes(budget.bytes)} (${budget.source}).`, {
    hint: `Give it less (--memory, or memory: in berth.yaml, wins over a devcontainer's hostRequirements), or raise the budget (${BUDGET_ENV}=${formatBytes(roundUpGiB(cost))}).`,
    details: { totalBytes: cost, budgetBytes: budget.bytes, budgetSource: budget.source, workspaces: [{ id: claim.id, runtime: claim.runtime, bytes: cost }] },
  });
}

/** `1.5g`, `512m`, `300k`: binary units, the way sizes are written in a manifest. */
export function formatBytes(bytes: number): string {
  const units: [string, number][] = [['t', 1024 ** 4], ['g', 1024 ** 3], ['m', 1024 ** 2], ['k', 1024]];
  for (const [unit, size] of units) {
    if (bytes >= size) return `${String(Math.round((bytes / size) * 100) / 100)}${unit}`;
  }
  return `${String(bytes)}b`;
}

function roundUpGiB(bytes: number): number {
  return Math.ceil(bytes / 1024 ** 3) * 1024 ** 3;
}

/**
 * The claims of workspaces that will live on one runtime, from their declared specs; a workspace
 * that names no memory claims what `memoryOf` says it will get (a devcontainer's hostRequirements).
 */
export function claimsOn<W extends { id: string; spec: { memory?: string | number | undefined } }>(
  runtime: RuntimeKind,
  workspaces: readonly W[],
  memoryOf: (workspace: W) => number | null = () => null,
): MemoryClaim[] {
  return workspaces.map((w) => ({ id: w.id, runtime, memoryBytes: w.spec.memory === undefined ? memoryOf(w) : parseMemory(w.spec.memory) }));
}
