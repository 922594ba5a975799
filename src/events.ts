/** What happened, for people (message) and programs (type, data). */
export interface BerthEventInput {
  /** Dotted, stable: `workspace.created`, `workspace.mount-skipped`, ... */
  type: string;
  workspace?: string | undefined;
  level?: 'info' | 'warn' | 'error' | undefined;
  message: string;
  data?: Record<string, unknown> | undefined;
}

export interface BerthEvent extends BerthEventInput {
  time: string;
  level: 'info' | 'warn' | 'error';
}

export function stampEvent(input: BerthEventInput, now: Date = new Date()): BerthEvent {
  return { ...input, level: input.level ?? 'info', time: now.toISOString() };
}
