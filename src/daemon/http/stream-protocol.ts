import { z } from 'zod';

/**
 * The daemon's WebSocket routes speak this, client and server alike (`berth/client` imports it).
 * Text frames carry one JSON message each; binary frames carry bytes, never re-encoded: a
 * terminal's output and an exec's stdout reach the caller exactly as the workspace wrote them.
 *
 * The first message may be `{type: 'auth', token}`: a browser cannot set an Authorization header
 * on a WebSocket, so on the loopback listener the token may come first on the socket instead
 * (Host and Origin are still checked on the upgrade request, before any message).
 *
 * PTY (`GET /workspaces/{id}/pty`):
 *   client: `open` (or `attach` to a session that survived a dropped connection), then binary
 *           frames = keystrokes, `resize`, `kill`;
 *   server: `opened` {session}, then binary frames = terminal output, finally `exit` {exitCode}.
 * Exec (`GET /workspaces/{id}/exec`):
 *   client: `open` {argv, ...}, `abort` (closing the socket aborts too);
 *   server: binary frames whose first byte is the channel (1 stdout, 2 stderr), then `exit`.
 * Process (`GET /workspaces/{id}/processes/{process}`, a spawned process re-attached):
 *   server: first the kept output, then live, as channel-tagged binary frames, finally `exit`;
 *   client: binary frames = stdin, `end` (close its stdin), `kill`.
 * Either side: `error` {code, message, hint} ends the stream.
 */
export const STDOUT_CHANNEL = 1;
export const STDERR_CHANNEL = 2;

/** How long the server waits for `auth` and `open` before closing. */
export const OPEN_TIMEOUT_MS = 10_000;

const size = z.number().int().min(1).max(1000);
const env = z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'env names are letters, digits and _' }), z.string());

export const authMessage = z.strictObject({ type: z.literal('auth'), token: z.string() });

export const ptyClientMessage = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('open'), cols: size, rows: size, cwd: z.string().optional(), env: env.optional(), user: z.string().optional(), command: z.array(z.string()).min(1).optional() }),
  z.strictObject({ type: z.literal('attach'), session: z.string().min(1).max(100) }),
  z.strictObject({ type: z.literal('resize'), cols: size, rows: size }),
  z.strictObject({ type: z.literal('kill'), signal: z.string().regex(/^SIG[A-Z0-9]+$/).optional() }),
]);

export const execClientMessage = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('open'),
    argv: z.array(z.string()).min(1),
    cwd: z.string().optional(),
    env: env.optional(),
    user: z.string().optional(),
    timeoutMs: z.number().int().positive().optional(),
    /** Bytes for the command's stdin, base64; it is closed after them. */
    stdin: z.string().optional(),
  }),
  z.strictObject({ type: z.literal('abort') }),
]);

export const processClientMessage = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('end') }),
  z.strictObject({ type: z.literal('kill'), signal: z.string().regex(/^SIG[A-Z0-9]+$/).optional() }),
]);

export type ProcessClientMessage = z.infer<typeof processClientMessage>;
export type PtyClientMessage = z.infer<typeof ptyClientMessage>;
export type ExecClientMessage = z.infer<typeof execClientMessage>;

export type StreamServerMessage =
  | { type: 'opened'; session: string }
  | { type: 'exit'; exitCode: number | null; durationMs?: number; signal?: string | null }
  | { type: 'error'; code: string; message: string; hint?: string | undefined };

/** A text frame as a message of `schema`, or a one-line reason it is not one. */
export function parseMessage<T>(schema: z.ZodType<T>, text: string): { ok: true; value: T } | { ok: false; reason: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'a text frame must be one JSON message' };
  }
  const parsed = schema.safeParse(raw);
  if (parsed.success) return { ok: true, value: parsed.data };
  return { ok: false, reason: parsed.error.issues.map((issue) => `${issue.path.join('.') || 'message'}: ${issue.message}`).join('; ') };
}

/** A stdout/stderr chunk as one binary frame: its channel byte, then the bytes. */
export function channelFrame(channel: typeof STDOUT_CHANNEL | typeof STDERR_CHANNEL, chunk: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(chunk.length + 1);
  frame[0] = channel;
  frame.set(chunk, 1);
  return frame;
}
