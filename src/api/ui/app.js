// The status page (issue 23; docs/api.md): the node and pair banner, the device overview, one
// device in detail and the events timeline, kept current by the live stream instead of polling.
// Only the banner's few small answers (peer link, history, northbound), which have no stream
// event of their own, are read again every few seconds.
// The page asks for a token when the API answers 401 (security.md) and offers the operator's
// actions only to a token whose role allows them, and only on the active node.

import { get, setToken, token, Unauthorized, ApiError, el, formatTime } from './api.js';
import { LiveStream } from './stream.js';
import { Overview } from './overview.js';
import { Detail } from './detail.js';

const BANNER_REFRESH_MS = 5000;
const EVENTS_KEPT = 500;

const state = {
  role: null,          // the token's role (GET /api/v1/whoami)
  activity: 'unknown',
  events: [],          // newest first: {kind, time, device?, text}
  stream: null,
  bannerTimer: null,
  started: false,
};

const overview = new Overview({ onOpen: (id) => openDevice(id) });
const detail = new Detail({
  canOperate: () => (state.role === 'operator' || state.role === 'admin') && state.activity === 'active',
  confirm,
  onDevice: (d) => overview.update(d),
  onUnauthorized: () => askForToken('Your token was refused; enter another.'),
});

// ---- start, token ------------------------------------------------------------------------

async function start() {
  try {
    const [who, devices] = await Promise.all([get('/api/v1/whoami'), get('/api/v1/devices?view=summary')]);
    state.role = who.role;
    document.getElementById('whoami').textContent = who.name ? `${who.name} (${who.role})` : 'not needed';
    document.getElementById('login').hidden = true;
    overview.load(devices);
    if (window.polluxFirstRenderMs === undefined) window.polluxFirstRenderMs = performance.now();
    state.started = true;
    const redundancy = await refreshBanner();
    await loadEvents(redundancy);
    followStream();
    clearInterval(state.bannerTimer);
    state.bannerTimer = setInterval(() => refreshBanner().catch(() => {}), BANNER_REFRESH_MS);
    const wanted = decodeURIComponent(location.hash.slice(1));
    if (wanted && overview.get(wanted)) openDevice(wanted);
  } catch (e) {
    if (e instanceof Unauthorized) {
      askForToken(token() ? 'That token was refused.' : '');
      return;
    }
    showError('Cannot reach the node: ' + e.message + '. Trying again.');
    setTimeout(start, 3000);
  }
}

function askForToken(why) {
  if (state.stream) state.stream.stop();
  state.stream = null;
  detail.close();
  clearInterval(state.bannerTimer);
  setToken(null);
  document.getElementById('login-why').textContent = why;
  const form = document.getElementById('login');
  form.hidden = false;
  document.getElementById('login-token').focus();
}

document.getElementById('login').addEventListener('submit', (e) => {
  e.preventDefault();
  const input = document.getElementById('login-token');
  setToken(input.value.trim());
  input.value = '';
  document.getElementById('login-why').textContent = 'checking…';
  start();
});

function showError(text) {
  const p = document.getElementById('page-error');
  p.textContent = text;
  p.hidden = !text;
}

// ---- live stream ---------------------------------------------------------------------------

function followStream() {
  if (state.stream) state.stream.stop();
  state.stream = new LiveStream('/api/v1/stream?kind=device&kind=failover&kind=redundancy', {
    onEvent: onStreamEvent,
    onState: (s) => {
      const cell = document.getElementById('stream-state');
      cell.textContent = s;
      cell.className = s === 'live' ? 'good' : 'warn';
    },
    onUnauthorized: () => askForToken('Your token was refused; enter another.'),
  });
}

function onStreamEvent(kind, data) {
  switch (kind) {
    case 'device':
      overview.update(data);
      if (detail.isOpen(data.id)) detail.onEvent('device', { ...data, device: data.id });
      break;
    case 'failover':
      addEvent(failoverEntry(data));
      detail.addEvent(data);
      break;
    case 'redundancy':
      addEvent(redundancyEntry(data));
      refreshBanner().catch(() => {});
      break;
    case 'resync':
      // Events were missed: the listings are read again.
      get('/api/v1/devices?view=summary').then((d) => overview.load(d)).catch(() => {});
      loadEvents().catch(() => {});
      refreshBanner().catch(() => {});
      break;
    default:
      break;
  }
}

// ---- banner -------------------------------------------------------------------------------

async function refreshBanner() {
  const [health, redundancy, channels, northbound] = await Promise.all([
    get('/api/v1/health'),
    get('/api/v1/redundancy'),
    get('/api/v1/channels'),
    get('/api/v1/northbound').catch((e) => {
      if (e instanceof ApiError && e.status === 404) return null;
      throw e;
    }),
  ]);
  setText('node-name', health.node);
  document.title = `Pollux ${health.node} (${health.activity})`;
  setText('node-role', health.role);
  setText('node-activity', health.activity, health.activity === 'active' ? 'good' : '');
  const changed = state.activity !== health.activity;
  state.activity = health.activity;
  document.body.dataset.activity = health.activity;
  document.getElementById('standby-note').hidden = health.activity !== 'standby';
  if (health.role === 'independent') setText('peer-link', '—');
  else if (redundancy.peer.authenticated) setText('peer-link', 'connected', 'good');
  else setText('peer-link', redundancy.peer.connected ? 'connected, not authenticated' : 'not connected', 'bad');
  setText('config-version', redundancy.config_version || '—');
  if (!health.history) setText('history-state', 'off');
  else setText('history-state', health.history, health.history === 'ok' ? 'good' : 'bad');
  if (!northbound) setText('northbound-state', 'off');
  else {
    const text = `${northbound.state}${northbound.held ? `, ${northbound.held} held` : ''}`;
    setText('northbound-state', text, northbound.connected ? 'good' : 'warn');
  }
  drawChannels(channels);
  // The actions depend on the activity: redraw them when it changed.
  if (changed && detail.id) detail.redraw();
  showError('');
  return redundancy;
}

// Channels are few (one per line or MultiPoint group), so the table is drawn whole.
function drawChannels(channels) {
  const rows = channels.map((c) => el('tr', { 'data-channel': c.id },
    el('th', { scope: 'row', text: c.id }),
    el('td', { text: c.type }),
    el('td', { text: c.protocol }),
    el('td', { text: c.enabled ? 'yes' : 'no' }),
    el('td', { class: 'status-' + c.status, text: c.status }),
    el('td', { class: 'counters',
      text: Object.entries(c.stats || {}).map(([k, v]) => `${k.replaceAll('_', ' ')} ${v}`).join(' · ') })));
  document.querySelector('#channel-table tbody').replaceChildren(...rows);
}

function setText(id, text, cls = '') {
  const node = document.getElementById(id);
  node.textContent = text;
  node.className = cls;
}

// ---- events timeline ----------------------------------------------------------------------

function failoverEntry(e) {
  return { kind: 'failover', seq: e.seq, time: e.time, device: e.device,
    text: `${e.device}: line ${e.from} → ${e.to} (${e.reason})` };
}

function redundancyEntry(e) {
  return { kind: 'redundancy', seq: e.seq, time: e.time,
    text: `node: ${e.from} → ${e.to} (${e.reason})` };
}

// `redundancy`: an answer of GET /api/v1/redundancy just read, else it is read here.
async function loadEvents(redundancy) {
  const [failovers, pair] = await Promise.all([get('/api/v1/events'),
    redundancy ? Promise.resolve(redundancy) : get('/api/v1/redundancy')]);
  const all = failovers.map(failoverEntry).concat((pair.events || []).map(redundancyEntry));
  all.sort((a, b) => (a.time < b.time ? 1 : a.time > b.time ? -1 : 0));
  state.events = all.slice(0, EVENTS_KEPT);
  drawEvents();
}

function addEvent(entry) {
  state.events.unshift(entry);
  state.events.length = Math.min(state.events.length, EVENTS_KEPT);
  drawEvents();
}

function drawEvents() {
  const filter = document.getElementById('events-filter').value.trim().toLowerCase();
  const items = [];
  for (const e of state.events) {
    if (filter && !(e.device && e.device.toLowerCase().includes(filter))) continue;
    items.push(el('li', { 'data-kind': e.kind, 'data-device': e.device },
      el('time', { datetime: e.time, text: formatTime(e.time) }), e.text));
  }
  if (items.length === 0) items.push(el('li', { text: filter ? 'no events for that device' : 'no events yet' }));
  document.getElementById('events-list').replaceChildren(...items);
}

document.getElementById('events-filter').addEventListener('input', drawEvents);

// ---- device detail ------------------------------------------------------------------------

async function openDevice(id) {
  overview.select(id);
  history.replaceState(null, '', '#' + encodeURIComponent(id));
  try {
    await detail.open(id);
  } catch (e) {
    if (e instanceof Unauthorized) askForToken('Your token was refused; enter another.');
    else showError(`Cannot show ${id}: ${e.message}`);
  }
}

// ---- confirmation -------------------------------------------------------------------------

// Every action is confirmed before it is sent; a write's value is typed in the dialog.
function confirm(text, withValue) {
  const dialog = document.getElementById('confirm');
  document.getElementById('confirm-text').textContent = text;
  const row = document.getElementById('confirm-value-row');
  const input = document.getElementById('confirm-value');
  row.hidden = !withValue;
  input.value = '';
  input.required = withValue;
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => {
      resolve({ ok: dialog.returnValue === 'ok', value: input.value });
    }, { once: true });
    dialog.returnValue = '';
    dialog.showModal();
    (withValue ? input : document.getElementById('confirm-cancel')).focus();
  });
}

// Cancel must not trip the value's `required` check.
document.getElementById('confirm-cancel').formNoValidate = true;

start();
