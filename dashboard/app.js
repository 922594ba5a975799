// The Berth dashboard: plain JS against the daemon's API on this same origin. The token comes in
// the link's fragment (`/#token=...`, never sent to a server), moves to this tab's sessionStorage,
// leaves the address bar, and goes out only as `Authorization: Bearer` on our own API calls. No
// cookie: a browser would send one for 127.0.0.1 to every port, workspace previews included.

import { openTerminal } from '/dashboard/terminal.js';

const $ = (selector) => document.querySelector(selector);
const FEED_LIMIT = 200;
let openLogs = null;
const TOKEN_KEY = 'berth.token';
const token = takeToken();

function takeToken() {
  const fragment = new URLSearchParams(location.hash.slice(1));
  const fromLink = fragment.get('token');
  if (fromLink) {
    sessionStorage.setItem(TOKEN_KEY, fromLink);
    history.replaceState(null, '', `${location.pathname}${location.search}`);
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

function authorized(headers = {}) {
  return { ...headers, authorization: `Bearer ${token}` };
}

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === 'class') node.className = value;
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child ?? '')));
  return node;
}

async function api(method, path) {
  const response = await fetch(path, { method, headers: authorized({ accept: 'application/json' }) });
  const text = await response.text();
  const body = text ? JSON.parse(text) : null;
  if (!response.ok) throw new Error(body?.message ?? `${method} ${path}: ${response.status}`);
  return body;
}

function fill(table, rows, empty) {
  const body = table.tBodies[0];
  const columns = String(table.tHead.rows[0].cells.length);
  body.replaceChildren(...(rows.length > 0 ? rows : [el('tr', {}, el('td', { colspan: columns, class: 'muted' }, empty))]));
}

// Running workspaces, whose devcontainer's forwarded ports are listed with the dev servers.
let running = [];

async function refreshWorkspaces() {
  const workspaces = await api('GET', '/workspaces');
  running = workspaces.filter((w) => w.state === 'running').map((w) => w.id);
  fill(
    $('#workspaces'),
    workspaces.map((w) =>
      el('tr', { 'data-workspace': w.id },
        el('td', { class: 'mono' }, w.id),
        el('td', {}, w.runtime),
        el('td', { class: `state state-${w.state}`, title: w.state === 'drifted' ? 'its spec changed: berth up recreates it' : '' }, w.state),
        el('td', { class: 'mono' }, w.ip ?? '-'),
        el('td', { class: 'mono' }, w.root ?? '-'),
        el('td', {}, w.state === 'running' ? el('button', { type: 'button', class: 'terminal', onclick: () => showTerminal(w.id) }, 'terminal') : ''),
      ),
    ),
    'No workspaces yet: berth up <id>',
  );
}

// A devcontainer's forwarded ports, checked now (an empty list, no engine call, for other workspaces).
async function forwardedPorts() {
  const lists = await Promise.all(
    running.map((id) => api('GET', `/workspaces/${encodeURIComponent(id)}/forwarded-ports`).then((ports) => ports.map((p) => ({ ...p, workspace: id })), () => [])),
  );
  return lists.flat();
}

function forwardedRow(p) {
  const id = `${p.workspace}:${p.service === null ? '' : `${p.service}:`}${p.port}`;
  const state = p.state === 'not-listening' ? 'not listening yet' : p.state;
  return el('tr', { 'data-forwarded': id },
    el('td', { class: 'mono' }, id),
    el('td', { class: `state state-${p.state}` }, state),
    el('td', {}, p.url ? el('a', { href: p.url, target: '_blank', rel: 'noopener noreferrer', class: 'preview' }, p.url) : (p.note ?? '-')),
    el('td', {}, p.label === null ? 'forwarded port' : `${p.label} (forwarded port)`),
    el('td', {}, ''),
  );
}

async function refreshDevServers() {
  const [servers, forwarded] = await Promise.all([api('GET', '/dev-servers'), forwardedPorts()]);
  fill(
    $('#devservers'),
    [...servers.map((s) => {
      const id = `${s.workspace}/${s.name}`;
      const base = `/workspaces/${encodeURIComponent(s.workspace)}/dev-servers/${encodeURIComponent(s.name)}`;
      const act = (verb) => async (event) => {
        event.target.disabled = true;
        try {
          await api('POST', `${base}/${verb}${verb === 'restart' ? '?wait=true' : ''}`);
        } catch (error) {
          alert(error.message);
        }
        await refreshDevServers();
      };
      const live = s.state === 'running' || s.state === 'starting';
      return el('tr', { 'data-devserver': id },
        el('td', { class: 'mono' }, id),
        el('td', { class: `state state-${s.state}` }, s.state, s.exitCode === null ? '' : ` (exit ${s.exitCode})`),
        el('td', {}, s.url ? el('a', { href: s.url, target: '_blank', rel: 'noopener noreferrer', class: 'preview' }, s.url) : '-'),
        el('td', { class: 'mono' }, s.command.join(' ')),
        el('td', {},
          live ? el('button', { type: 'button', class: 'stop', onclick: act('stop') }, 'stop') : '',
          el('button', { type: 'button', class: 'restart', onclick: act('restart') }, live ? 'restart' : 'start again'),
          el('button', { type: 'button', class: 'logs', onclick: () => showLogs(s.workspace, s.name) }, 'logs'),
        ),
      );
    }), ...forwarded.map(forwardedRow)],
    'No dev servers: berth dev start <id> <name> -- <command>',
  );
}

// An agent's request to reach something its rules do not allow: a person decides here (or with
// `berth egress approve|deny`). The reason is the agent's text: shown as text, never as markup.
async function refreshEgressRequests() {
  const requests = await api('GET', '/egress/requests?state=pending');
  fill(
    $('#egress-requests'),
    requests.map((r) => {
      const base = `/workspaces/${encodeURIComponent(r.workspace)}/egress/requests/${encodeURIComponent(r.id)}`;
      const decide = (verb) => async (event) => {
        event.target.disabled = true;
        try {
          await api('POST', `${base}/${verb}`);
        } catch (error) {
          alert(error.message);
        }
        await refreshEgressRequests();
      };
      return el('tr', { 'data-request': r.id },
        el('td', { class: 'mono' }, r.workspace),
        el('td', { class: 'mono' }, r.target),
        el('td', {}, r.reason),
        el('td', { class: 'muted' }, r.requestedAt.slice(11, 19)),
        el('td', {},
          el('button', { type: 'button', class: 'approve', onclick: decide('approve') }, 'approve'),
          el('button', { type: 'button', class: 'deny', onclick: decide('deny') }, 'deny'),
        ),
      );
    }),
    'No pending requests',
  );
}

let openTerm = null;

function showTerminal(workspace) {
  openTerm?.close();
  $('#terminal').hidden = false;
  $('#terminal-title').textContent = workspace;
  $('#terminal-status').textContent = 'connecting…';
  openTerm = openTerminal($('#terminal-screen'), workspace, token, (status) => ($('#terminal-status').textContent = status));
}

function closeTerminal() {
  openTerm?.close();
  openTerm = null;
  $('#terminal').hidden = true;
}

function showLogs(workspace, name) {
  openLogs = { workspace, name };
  $('#logs').hidden = false;
  $('#logs-title').textContent = `${workspace}/${name}`;
  void refreshLogs();
}

async function refreshLogs() {
  if (!openLogs) return;
  const { workspace, name } = openLogs;
  const response = await fetch(`/workspaces/${encodeURIComponent(workspace)}/dev-servers/${encodeURIComponent(name)}/logs?tail=200`, { headers: authorized() });
  const pre = $('#logs-text');
  const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
  pre.textContent = response.ok ? await response.text() : `(${(await response.json()).message})`;
  if (atBottom) pre.scrollTop = pre.scrollHeight;
}

function prepend(list, item) {
  list.prepend(item);
  while (list.children.length > FEED_LIMIT) list.lastChild.remove();
}

function onEvent(event) {
  const time = event.time.slice(11, 19);
  prepend($('#events'), el('li', { class: `level-${event.level}` }, el('span', { class: 'muted' }, `${time} `), el('b', {}, event.type), ` ${event.workspace ? `${event.workspace}: ` : ''}${event.message}`));
  if (event.type.startsWith('egress.') && event.data?.verdict) {
    const d = event.data;
    prepend($('#egress'), el('li', {}, el('span', { class: 'muted' }, `${time} `), el('span', { class: `verdict-${d.verdict}` }, d.verdict), ` ${event.workspace ?? ''} → ${d.host ?? '?'}:${d.port ?? '?'}${d.rule ? ` (${d.rule})` : ''}`));
  }
  if (event.type.startsWith('workspace.') || event.type.startsWith('daemon.')) scheduled.workspaces = true;
  if (event.type.startsWith('devserver.') || event.type.startsWith('workspace.')) scheduled.devservers = true;
  if (event.type.startsWith('egress.request')) scheduled.requests = true;
}

const scheduled = { workspaces: false, devservers: false, requests: false };
let ticks = 0;

async function tick() {
  try {
    if (scheduled.workspaces) await refreshWorkspaces();
    if (scheduled.devservers) await refreshDevServers();
    if (scheduled.requests) await refreshEgressRequests();
    scheduled.workspaces = scheduled.devservers = scheduled.requests = false;
    // Logs are one exec in the workspace: every other second is live enough.
    if (++ticks % 2 === 0) await refreshLogs();
  } catch (error) {
    $('#daemon').textContent = `error: ${error.message}`;
  }
}

async function showDaemon() {
  const health = await api('GET', '/health');
  $('#daemon').textContent = `daemon ${health.pid} on ${health.runtime}, berth ${health.version}`;
}

// Server-Sent Events read from a fetch stream (EventSource cannot send a header): the same wire
// format, and the same resume: each reconnect sends Last-Event-ID, the last `id:` seen.
async function followEvents(after) {
  let lastId = after;
  let retryMs = 2000;
  for (;;) {
    try {
      const response = await fetch(`/events/stream?after=${lastId}`, { headers: authorized({ accept: 'text/event-stream', 'last-event-id': String(lastId) }), cache: 'no-store' });
      if (!response.ok || !response.body) throw new Error(`events: ${response.status}`);
      // Reopened after a daemon restart: say which daemon answers now.
      void showDaemon().catch(() => undefined);
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value.replace(/\r\n?/g, '\n');
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let data = null;
          for (const line of block.split('\n')) {
            const colon = line.indexOf(':');
            if (colon === 0) continue; // a comment: the keep-alive
            const field = colon < 0 ? line : line.slice(0, colon);
            const text = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
            if (field === 'id' && /^\d+$/.test(text)) lastId = Number(text);
            else if (field === 'retry' && /^\d+$/.test(text)) retryMs = Number(text);
            else if (field === 'data') data = data === null ? text : `${data}\n${text}`;
          }
          if (data !== null) onEvent(JSON.parse(data));
        }
      }
    } catch {
      // The daemon went away mid-stream or refused: try again after its retry interval.
    }
    $('#daemon').textContent = 'event stream interrupted: reconnecting…';
    await new Promise((resolve) => setTimeout(resolve, retryMs));
  }
}

async function start() {
  if (!token) throw new Error('no token: open the dashboard through the link `berth daemon status` prints');
  await showDaemon();
  await Promise.all([refreshWorkspaces(), refreshDevServers(), refreshEgressRequests()]);
  // The last 100 events first, then the live stream from there on (in order, resumable by id).
  const recent = await api('GET', '/events');
  const backlog = recent.slice(-100);
  for (const event of backlog) onEvent(event);
  const after = backlog.length > 0 ? backlog[backlog.length - 1].seq : 0;
  void followEvents(after);
  $('#terminal-close').addEventListener('click', closeTerminal);
  $('#logs-close').addEventListener('click', () => {
    openLogs = null;
    $('#logs').hidden = true;
  });
  // The liveness loop updates the registry without an event for every scan: refresh now and then too.
  setInterval(() => {
    scheduled.devservers = true;
    scheduled.workspaces = true;
  }, 5000);
  setInterval(() => void tick(), 1000);
}

start().catch((error) => {
  $('#daemon').textContent = `cannot load: ${error.message}`;
});
