import { isBerthError } from '../../errors.js';
import { defineCommand, requirePositional } from '../args.js';
import { INTERACTIVE_SHELL } from '../../workspace/shell-profile.js';
import { openBerth } from '../open-berth.js';
import type { HookRun } from '../../workspace/devcontainer-up.js';
import { hookPrinter } from '../hook-progress.js';

const USAGE = 'Usage: berth shell <id> [--runtime R]\n';

export default defineCommand({
  usage: USAGE,
  options: {},
  async run({ values, positionals }) {
    const id = requirePositional(positionals, 0, 'id', USAGE);
    const berth = await openBerth(values.runtime, id);
    // On a terminal: the same terminal an app gets (berth.pty: the login shell, resized with the
    // window). Without node-pty (Apple, host mode) or without a terminal: the engine CLI attached
    // to this process's stdio, as before.
    let attachHooksRan = false;
    const hooks = hookPrinter();
    const onAttachHook = (run: HookRun): void => {
      attachHooksRan = true;
      hooks.onHook(run);
    };
    if (process.stdin.isTTY && process.stdout.isTTY) {
      const { attachTerminal, terminalSize } = await import('../attach-terminal.js');
      try {
        const pty = await berth.pty(id, { ...terminalSize(), onAttachHook });
        hooks.end();
        return await attachTerminal(pty);
      } catch (error) {
        if (!isBerthError(error, 'E_UNSUPPORTED') || error.details?.['missing'] !== 'node-pty') throw error;
      }
    }
    // Unless the pty above got as far as running postAttachCommand, this attach runs it here.
    if (!attachHooksRan) await berth.runAttachHooks(id, onAttachHook, hooks.onProgress);
    hooks.end();
    const shell = berth.runtime.capabilities.isolation === 'container' ? INTERACTIVE_SHELL : [process.env['SHELL'] || '/bin/sh', '-i'];
    return berth.execInteractive(id, shell);
  },
});
