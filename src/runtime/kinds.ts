/**
 * The runtimes Berth drives, written once. The `RuntimeKind` type, config.json's check, the
 * manifest schema, the CLI's help and the OpenAPI document all derive from these lists, so a new
 * runtime is one edit here (test/unit/runtime-kinds.test.ts fails on a second hand-written list).
 * No imports: config.ts reads this on every CLI start.
 */
export const RUNTIME_KINDS = ['apple', 'docker', 'podman', 'host'] as const;

export type RuntimeKind = (typeof RUNTIME_KINDS)[number];

/** What a user may ask for: a kind, or `auto` (detect: runtime/select.ts). */
export const RUNTIME_CHOICES = [...RUNTIME_KINDS, 'auto'] as const;

export type RuntimeChoice = (typeof RUNTIME_CHOICES)[number];

export function isRuntimeKind(value: unknown): value is RuntimeKind {
  return (RUNTIME_KINDS as readonly unknown[]).includes(value);
}

export function isRuntimeChoice(value: unknown): value is RuntimeChoice {
  return (RUNTIME_CHOICES as readonly unknown[]).includes(value);
}
