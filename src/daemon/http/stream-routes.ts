import type { RawData, WebSocket } from 'ws';
import { BerthError } from '../../errors.js';
import type { PtySession, PtySessions, PtyViewer } from '../pty-sessions.js';
import { closeWithError, rawBytes, rawText, send } from './websocket.js';
import type { ProcessHandle } from '../../workspace/processes.js';
import { channelFrame, execClientMessage, OPEN_TIMEOUT_MS, parseMessage, processClientMessage, ptyClientMessage, STDERR_CHANNEL, STDOUT_CHANNEL } from './stream-protocol.js';

/** The library's streaming exec, as far as the exec socket needs it (`Berth.exec` with `encoding: 'buffer'`). */
export type StreamingExec = (
  workspace: string,
  argv: readonly string[],
  options: {
    onStdout: (chunk: Buffer) => void;
    onStderr: (chunk: Buffer) => void;
    stdin?: Uint8Array | undefined;
    cwd?: string | undefined;
    env?: Readonly<Record<string, string>> | undefined;
    user?: string | undefined;
    timeoutMs?: number | undefined;
    signal: AbortSignal;
  },
) => Promise<{ exitCode: number; durationMs: number }>;

/**
 * One terminal over one socket: `open` starts it (or `attach` takes a session over again after a
 * dropped connection), binary frames are keystrokes, `resize` and `kill` are messages, and the
 * output comes back as binary frames. Closing the socket detaches; the session decides when the
 * shell ends (pty-sessions.ts).
 */
export function servePty(ws: WebSocket, sessions: PtySessions, workspace: string): void {
  let session: PtySession | null = null;
  let opening = false;
  const viewer: PtyViewer = {
    data: (chunk) => ws.readyState === ws.OPEN && ws.send(chunk),
    exit: (exitCode) => {
      send(ws, { type: 'exit', exitCode });
      ws.close(1000);
    },
  };
  const deadline = setTimeout(() => session || opening || closeWithError(ws, refused('no open or attach message arrived in time')), OPEN_TIMEOUT_MS);
  // Keystrokes after a resize reach the terminal after the engine applied it (a `stty size` typed
  // right after resize() says the new size): while a resize is in flight, input waits behind it.
  let queue: Promise<void> = Promise.resolve();
  let queued = 0;
  const inOrder = (step: () => void | Promise<void>): void => {
    queued += 1;
    queue = queue.then(step).finally(() => (queued -= 1));
  };
  ws.on('close', () => {
    clearTimeout(deadline);
    session?.detach(viewer);
  });
  ws.on('message', (data: RawData, isBinary: boolean) => {
    if (isBinary) {
      const target = session;
      if (target === null) return;
      const bytes = rawBytes(data);
      if (queued === 0) target.write(bytes);
      else inOrder(() => target.write(bytes));
      return;
    }
    const parsed = parseMessage(ptyClientMessage, rawText(data));
    if (!parsed.ok) return closeWithError(ws, refused(parsed.reason));
    const message = parsed.value;
    if (message.type === 'open' || message.type === 'attach') {
      if (session || opening) return closeWithError(ws, refused('this socket already has a terminal'));
      opening = true;
      const started =
        message.type === 'attach'
          ? new Promise<PtySession>((resolve) => resolve(sessions.attach(workspace, message.session, viewer)))
          : sessions.open(workspace, { cols: message.cols, rows: message.rows, cwd: message.cwd, env: message.env, user: message.user, command: message.command }, viewer);
      void started.then(
        (opened) => {
          session = opened;
          // The socket closed while the shell was starting: nobody is watching.
          if (ws.readyState !== ws.OPEN) return opened.detach(viewer);
          send(ws, { type: 'opened', session: opened.id });
        },
        (error: unknown) => closeWithError(ws, error),
      );
      return;
    }
    if (!session) return closeWithError(ws, refused(`"${message.type}" before open`));
    const target = session;
    if (message.type === 'resize') inOrder(() => target.resize(message.cols, message.rows).catch((error: unknown) => closeWithError(ws, error)));
    else void session.kill(message.signal as NodeJS.Signals | undefined);
  });
}

/**
 * One command over one socket: `open` runs it, its output streams back as channel-tagged binary
 * frames as it comes, and `exit` ends the stream. `abort`, or the socket closing, cancels it: the
 * library then ends the process group inside the workspace (workspace/exec-cancel.ts).
 */
export function serveExec(ws: WebSocket, exec: StreamingExec, workspace: string): void {
  const controller = new AbortController();
  let started = false;
  const deadline = setTimeout(() => started || closeWithError(ws, refused('no open message arrived in time')), OPEN_TIMEOUT_MS);
  ws.on('close', () => {
    clearTimeout(deadline);
    controller.abort();
  });
  ws.on('message', (data: RawData, isBinary: boolean) => {
    const parsed = isBinary ? { ok: false as const, reason: 'send the command in an open message; stdin goes in it, base64' } : parseMessage(execClientMessage, rawText(data));
    if (!parsed.ok) return closeWithError(ws, refused(parsed.reason));
    const message = parsed.value;
    if (message.type === 'abort') return controller.abort();
    if (started) return closeWithError(ws, refused('this socket already runs a command'));
    started = true;
    const frame = (channel: typeof STDOUT_CHANNEL | typeof STDERR_CHANNEL) => (chunk: Buffer) => ws.readyState === ws.OPEN && ws.send(channelFrame(channel, chunk));
    void exec(workspace, message.argv, {
      onStdout: frame(STDOUT_CHANNEL),
      onStderr: frame(STDERR_CHANNEL),
      stdin: message.stdin === undefined ? undefined : Buffer.from(message.stdin, 'base64'),
      cwd: message.cwd,
      env: message.env,
      user: message.user,
      timeoutMs: message.timeoutMs,
      signal: controller.signal,
    }).then(
      ({ exitCode, durationMs }) => {
        send(ws, { type: 'exit', exitCode, durationMs });
        ws.close(1000);
      },
      (error: unknown) => closeWithError(ws, error),
    );
  });
}

/**
 * A spawned process over one socket: its kept output then the live output as channel-tagged
 * frames, `exit` when it ends; binary frames from the client are its stdin, `end` closes it,
 * `kill` signals it. Closing the socket only stops following: the process lives in the workspace.
 */
export function serveProcess(ws: WebSocket, handle: ProcessHandle): void {
  send(ws, { type: 'opened', session: handle.id });
  const frame = (channel: typeof STDOUT_CHANNEL | typeof STDERR_CHANNEL) => (chunk: Buffer) => ws.readyState === ws.OPEN && ws.send(channelFrame(channel, chunk));
  const unsubscribe = [handle.onStdout(frame(STDOUT_CHANNEL)), handle.onStderr(frame(STDERR_CHANNEL))];
  ws.on('close', () => {
    for (const off of unsubscribe) off();
  });
  void handle.wait().then(
    (exit) => {
      // Output the follower read before the exit goes out first (same socket, in order).
      send(ws, { type: 'exit', exitCode: exit.exitCode, signal: exit.signal ?? null });
      ws.close(1000);
    },
    (error: unknown) => closeWithError(ws, error),
  );
  ws.on('message', (data: RawData, isBinary: boolean) => {
    if (isBinary) {
      handle.stdin.write(rawBytes(data));
      return;
    }
    const parsed = parseMessage(processClientMessage, rawText(data));
    if (!parsed.ok) return closeWithError(ws, refused(parsed.reason));
    if (parsed.value.type === 'end') handle.stdin.end();
    else void handle.kill(parsed.value.signal as NodeJS.Signals | undefined).catch((error: unknown) => closeWithError(ws, error));
  });
}

function refused(why: string): BerthError {
  return new BerthError('E_INVALID_INPUT', `Invalid stream message: ${why}.`, { hint: 'See the WebSocket protocol in GET /openapi.json (x-websocket) or berth/client.' });
}
