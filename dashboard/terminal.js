// A terminal in a workspace: xterm.js (served by the daemon from its own package) on the daemon's
// PTY WebSocket. The token goes as the first message (a browser cannot set a header on a
// WebSocket). A dropped connection re-attaches to the same shell (the daemon keeps it 60 s and
// replays its recent output); the session id lives in this tab's sessionStorage, so a reload
// re-attaches too.
import { Terminal } from '/dashboard/vendor/xterm.mjs';
import { FitAddon } from '/dashboard/vendor/addon-fit.mjs';

const RECONNECT_MS = 1000;

export function openTerminal(container, workspace, token, onStatus) {
  const term = new Terminal({ cursorBlink: true, fontSize: 13, scrollback: 5000 });
  const fit = new FitAddon();
  term.loadAddon(fit);
  term.open(container);
  fit.fit();
  const sessionKey = `berth.pty.${workspace}`;
  let ws = null;
  let closed = false;
  let ended = false;

  // Keystrokes go as binary frames (bytes), control messages as JSON text frames.
  const send = (message) => ws?.readyState === WebSocket.OPEN && ws.send(message instanceof Uint8Array ? message : JSON.stringify(message));
  const encoder = new TextEncoder();
  term.onData((data) => send(encoder.encode(data)));
  term.onResize(({ cols, rows }) => send({ type: 'resize', cols, rows }));
  const refit = () => fit.fit();
  window.addEventListener('resize', refit);

  function connect() {
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/workspaces/${encodeURIComponent(workspace)}/pty`;
    ws = new WebSocket(url);
    ws.binaryType = 'arraybuffer';
    ws.onopen = () => {
      ws.send(JSON.stringify({ type: 'auth', token }));
      const session = sessionStorage.getItem(sessionKey);
      ws.send(JSON.stringify(session ? { type: 'attach', session } : { type: 'open', cols: term.cols, rows: term.rows }));
    };
    ws.onmessage = (event) => {
      if (typeof event.data !== 'string') return term.write(new Uint8Array(event.data));
      const message = JSON.parse(event.data);
      if (message.type === 'opened') {
        sessionStorage.setItem(sessionKey, message.session);
        onStatus('connected');
        // The window may have changed size while we were away.
        send({ type: 'resize', cols: term.cols, rows: term.rows });
      } else if (message.type === 'exit') {
        ended = true;
        sessionStorage.removeItem(sessionKey);
        onStatus(`exited (${message.exitCode ?? 'signal'})`);
      } else if (message.type === 'error') {
        // A session that ended while we were away: start a fresh shell.
        if (message.code === 'E_NOT_FOUND' && sessionStorage.getItem(sessionKey)) {
          sessionStorage.removeItem(sessionKey);
          return;
        }
        ended = true;
        onStatus(`error: ${message.message}`);
      }
    };
    ws.onclose = () => {
      if (closed || ended) return;
      onStatus('reconnecting…');
      setTimeout(connect, RECONNECT_MS);
    };
  }
  connect();
  term.focus();

  return {
    term,
    close() {
      closed = true;
      window.removeEventListener('resize', refit);
      send({ type: 'kill' });
      sessionStorage.removeItem(sessionKey);
      ws?.close();
      term.dispose();
    },
  };
}
