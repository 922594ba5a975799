/**
 * `Symbol.asyncDispose` (explicit resource management, `await using`) is in Node since 20.4; Berth
 * supports Node >= 20, so on 20.0-20.3 it is created here, the way TypeScript's own downlevel
 * helpers look it up. Node 20.20 (this project's CI) has it natively and this does nothing.
 */
const symbols = Symbol as { asyncDispose?: symbol; dispose?: symbol };
symbols.asyncDispose ??= Symbol('Symbol.asyncDispose');
symbols.dispose ??= Symbol('Symbol.dispose');

export {};
