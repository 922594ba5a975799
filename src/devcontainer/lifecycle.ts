/**
 * The lifecycle hooks and their three forms (containers.dev json_reference, "Formatting string vs
 * array properties"): a string runs through `/bin/sh -c`; an array is an argv run without a shell;
 * an object is named commands (each a string or an array) run in parallel.
 */
export const HOOKS = ['initializeCommand', 'onCreateCommand', 'updateContentCommand', 'postCreateCommand', 'postStartCommand', 'postAttachCommand'] as const;
export type HookName = (typeof HOOKS)[number];

/** One command: through a shell, or an argv as is. */
export type HookCommand = { shell: string } | { argv: string[] };

/** A hook's commands: one (`name` null), or several named ones that run at once. */
export interface Hook {
  commands: { name: string | null; command: HookCommand }[];
  parallel: boolean;
}

/** The hooks that run in the container, in the order the reference runs them (injectHeadless.ts@v0.88.0). */
export const CONTAINER_HOOKS: readonly HookName[] = ['onCreateCommand', 'updateContentCommand', 'postCreateCommand', 'postStartCommand', 'postAttachCommand'];

/** A hook value as written, or the reason it cannot be one (with the sub-path it is at). */
export function parseHook(value: unknown): { hook: Hook | null } | { error: string; at: (string | number)[] } {
  const single = (item: unknown, at: (string | number)[]): HookCommand | { error: string; at: (string | number)[] } => {
    if (typeof item === 'string') return { shell: item };
    if (Array.isArray(item)) {
      const bad = item.findIndex((arg) => typeof arg !== 'string');
      if (bad >= 0) return { error: 'an array command holds only strings (its argv)', at: [...at, bad] };
      return { argv: item as string[] };
    }
    return { error: 'a command is a string (run by /bin/sh -c) or an array of strings (run without a shell)', at };
  };
  if (value === undefined || value === null) return { hook: null };
  if (typeof value === 'string' || Array.isArray(value)) {
    const command = single(value, []);
    if ('error' in command) return command;
    return { hook: isEmpty(command) ? null : { commands: [{ name: null, command }], parallel: false } };
  }
  if (typeof value === 'object') {
    const commands: Hook['commands'] = [];
    for (const [name, item] of Object.entries(value)) {
      // The reference skips empty entries (null or "") in the object form.
      if (item === null || item === '') continue;
      const command = single(item, [name]);
      if ('error' in command) return command;
      if (!isEmpty(command)) commands.push({ name, command });
    }
    return { hook: commands.length === 0 ? null : { commands, parallel: true } };
  }
  return { error: 'a hook is a string, an array of strings, or an object of named commands', at: [] };
}

function isEmpty(command: HookCommand): boolean {
  return 'shell' in command ? command.shell.trim() === '' : command.argv.length === 0;
}

/** The argv a command runs as in the container. */
export function hookArgv(command: HookCommand): string[] {
  return 'shell' in command ? ['/bin/sh', '-c', command.shell] : command.argv;
}
