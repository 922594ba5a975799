// The Berth dashboard: plain JS against the daemon's API on this same origin. The token is an
// HttpOnly cookie (set by the first visit's link), so nothing here ever sees it.

const $ = (selector) => document.querySelector(selector);
const FEED_LIMIT = 200;
let openLogs = null;

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
  const response = await fetch(path, { method, headers: { accept: 'application/json' } });
  const text = await response.text();
  const body = text ? JSON.parse(text) : null;
  if (!response.ok) throw new Error(body?.message ?? `${method} ${path}: ${response.status}`);
  return body;
}

function fill(table, rows, empty) {
  const body = table.tBodies[0];
  body.replaceChildren(...(rows.length > 0 ? rows : [el('tr', {}, el('td', { colspan: '5', class: 'muted' }, empty))]));
}

async function refreshWorkspaces() {
  const workspaces = await api('GET', '/workspaces');
  fill(
    $('#workspaces'),
    workspaces.map((w) =>
      el('tr', { 'data-workspace': w.id },
        el('td', { class: 'mono' }, w.id),
        el('td', {}, w.runtime),
        el('td', { class: `state state-${w.state}`, title: w.state === 'drifted' ? 'its spec changed: berth up recreates it' : '' }, w.state),
        el('td', { class: 'mono' }, w.ip ?? '-'),
        el('td', { class: 'mono' }, w.root ?? '-'),
      ),
    ),
    'No workspaces yet: berth up <id>',
  );
}

async function refreshDevServers() {
  const servers = await api('GET', '/dev-servers');
  fill(
    $('#devservers'),
    servers.map((s) => {
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
    }),
    'No dev servers: berth dev start <id> <name> -- <command>',
  );
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
  const response = await fetch(`/workspaces/${encodeURIComponent(workspace)}/dev-servers/${encodeURIComponent(name)}/logs?tail=200`);
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
}

const scheduled = { workspaces: false, devservers: false };
let ticks = 0;

async function tick() {
  try {
    if (scheduled.workspaces) await refreshWorkspaces();
    if (scheduled.devservers) await refreshDevServers();
    scheduled.workspaces = scheduled.devservers = false;
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

async function start() {
  await showDaemon();
  await Promise.all([refreshWorkspaces(), refreshDevServers()]);
  // The last 100 events first, then the live stream from there on (in order, resumable by id).
  const recent = await api('GET', '/events');
  const backlog = recent.slice(-100);
  for (const event of backlog) onEvent(event);
  const after = backlog.length > 0 ? backlog[backlog.length - 1].seq : 0;
  const stream = new EventSource(`/events/stream?after=${after}`);
  stream.onmessage = (message) => onEvent(JSON.parse(message.data));
  stream.onerror = () => ($('#daemon').textContent = 'event stream interrupted: reconnecting…');
  // Reopened after a daemon restart: say which daemon answers now.
  stream.onopen = () => void showDaemon().catch(() => undefined);
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
