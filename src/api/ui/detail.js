// One device in detail (issue 23): its lines with eligible and usable, the SYDEV* status points,
// counters with their rates, recent failover events, every point with quality, age and a trend
// of the last hour drawn as inline SVG from GET /api/v1/history?interval_s=, and the operator's
// actions. Point changes come from a live stream filtered to this device; the counters, which
// change with every poll and are not streamed, are read again every few seconds while it is open.

import { LiveStream } from './stream.js';
import { get, post, enc, commOf, commLabel, el, formatValue, formatAge, formatTime, ApiError,
  Unauthorized } from './api.js';

const COUNTER_REFRESH_MS = 5000;
const TREND_REFRESH_MS = 60000;
const TREND_SPAN_S = 3600;
const TREND_INTERVAL_S = 60;
const COUNTERS = ['messages_ok', 'messages_failed', 'exceptions', 'timeouts', 'crc_errors',
  'framing_errors', 'polls_ok', 'polls_failed', 'polls_skipped', 'overruns'];

export class Detail {
  // app: { canOperate(): bool, confirm(text, withValue) -> Promise<{ok, value}>,
  //        onDevice(DEVICE), onUnauthorized(), onStreamState(state) }
  constructor(app) {
    this.app = app;
    this.section = document.getElementById('detail');
    this.id = null;
    this.device = null;
    this.points = new Map();  // name -> POINT
    this.stream = null;
    this.timers = [];
    this.lastCounters = null;  // {time, stats}
    this.rates = {};
    this.historyKept = true;
    this.channels = [];
    document.getElementById('detail-close').addEventListener('click', () => this.close());
  }

  isOpen(id) {
    return this.id === id;
  }

  async open(id) {
    this.close();
    this.id = id;
    this.section.hidden = false;
    document.getElementById('detail-title').textContent = id;
    document.getElementById('action-result').textContent = '';
    this.lastCounters = null;
    this.rates = {};
    this.historyKept = true;
    await this.reload();
    this.stream = new LiveStream(`/api/v1/stream?device=${enc(id)}&kind=point&kind=device`, {
      onEvent: (kind, data) => this.onEvent(kind, data),
      onUnauthorized: () => this.app.onUnauthorized(),
    });
    this.timers.push(setInterval(() => this.refreshCounters(), COUNTER_REFRESH_MS));
    this.timers.push(setInterval(() => this.drawAges(), 1000));
    this.timers.push(setInterval(() => this.loadTrends(), TREND_REFRESH_MS));
    document.getElementById('detail-close').focus();
  }

  close() {
    if (this.stream) this.stream.stop();
    this.stream = null;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.id = null;
    this.section.hidden = true;
  }

  // Everything again: at opening, after a resync, after an action.
  async reload() {
    const id = this.id;
    const [device, points, events, channels] = await Promise.all([
      get(`/api/v1/devices/${enc(id)}`),
      get(`/api/v1/points?device=${enc(id)}`),
      get('/api/v1/events'),
      get('/api/v1/channels'),
    ]);
    if (this.id !== id) return;
    this.channels = channels;
    this.points = new Map(points.map((p) => [p.name, p]));
    this.setDevice(device);
    this.drawEvents(events.filter((e) => e.device === id));
    this.drawPoints();
    this.loadTrends();
  }

  setDevice(device) {
    this.device = device;
    this.noteCounters(device.stats);
    const comm = commOf(device);
    const badge = document.getElementById('detail-comm');
    badge.textContent = commLabel[comm];
    badge.className = 'comm comm-' + comm;
    document.getElementById('detail-summary').textContent =
      `unit ${device.unit} · ${device.enabled ? 'enabled' : 'disabled'} · ` +
      `${device.auto ? 'automatic failover' : 'manual line selection'} · last success ` +
      `${formatTime(device.last_success)}` +
      (device.last_good_line ? ` on line ${device.last_good_line}` : '');
    this.drawLines();
    this.drawCounters();
    this.drawActions();
  }

  // Everything that depends on the role or the activity (the actions), drawn again.
  redraw() {
    if (!this.device) return;
    this.setDevice(this.device);
    this.drawPoints();
    this.loadTrends();
  }

  onEvent(kind, data) {
    if (kind === 'resync') {
      this.reload().catch(() => {});
      return;
    }
    if (data.device !== this.id) return;
    if (kind === 'point') {
      this.points.set(data.name, data);
      this.drawPoint(data);
    } else if (kind === 'device') {
      this.setDevice({ ...this.device, ...data });
    }
  }

  async refreshCounters() {
    if (!this.id) return;
    try {
      const device = await get(`/api/v1/devices/${enc(this.id)}`);
      if (device.id !== this.id) return;
      this.setDevice(device);
      this.app.onDevice(device);
    } catch (_) { /* the next refresh tries again */ }
  }

  // Rates per minute from two readings of the counters.
  noteCounters(stats) {
    if (!stats) return;
    const now = performance.now();
    if (this.lastCounters && now - this.lastCounters.time >= 1000) {
      const minutes = (now - this.lastCounters.time) / 60000;
      for (const name of COUNTERS)
        this.rates[name] = (stats[name] - this.lastCounters.stats[name]) / minutes;
      this.lastCounters = { time: now, stats };
    } else if (!this.lastCounters) {
      this.lastCounters = { time: now, stats };
    }
  }

  drawLines() {
    const body = document.querySelector('#detail-lines tbody');
    const rows = this.device.lines.map((l) => {
      const active = l.line === this.device.active_line;
      const action = this.app.canOperate() && !active
        ? el('button', { type: 'button', 'data-action': 'line', 'data-line': l.line,
          text: `Use line ${l.line}`, onclick: () => this.selectLine(l.line) })
        : null;
      return el('tr', { 'data-line': l.line, 'data-active': String(active) },
        el('td', { text: l.line === 1 ? '1 (primary)' : String(l.line) }),
        el('td', { text: l.channel }),
        el('td', { text: l.eligible ? 'yes' : 'no' }),
        el('td', { text: l.usable ? 'yes' : 'no' }),
        el('td', { text: active ? 'active' : '' }),
        el('td', {}, action));
    });
    body.replaceChildren(...rows);
  }

  drawCounters() {
    const stats = this.device.stats || {};
    const body = document.querySelector('#detail-counters tbody');
    body.replaceChildren(...COUNTERS.map((name) => {
      const rate = this.rates[name];
      return el('tr', { 'data-counter': name },
        el('th', { scope: 'row', text: name.replaceAll('_', ' ') }),
        el('td', { class: 'num', text: String(stats[name] ?? '—') }),
        el('td', { class: 'num', text: rate === undefined ? '…' : rate.toFixed(1) }));
    }));
  }

  drawEvents(events) {
    const list = document.getElementById('detail-events');
    const recent = events.slice(-20).reverse();
    if (recent.length === 0) {
      list.replaceChildren(el('li', { text: 'no line changes since the node started' }));
      return;
    }
    list.replaceChildren(...recent.map((e) => el('li', { 'data-kind': 'failover' },
      el('time', { datetime: e.time, text: formatTime(e.time) }),
      `line ${e.from} → ${e.to}: ${e.reason}`)));
  }

  addEvent(e) {
    if (e.device !== this.id) return;
    const list = document.getElementById('detail-events');
    if (list.children.length === 1 && !list.firstChild.dataset.kind) list.replaceChildren();
    list.prepend(el('li', { 'data-kind': 'failover' },
      el('time', { datetime: e.time, text: formatTime(e.time) }), `line ${e.from} → ${e.to}: ${e.reason}`));
  }

  isStatusPoint(name) {
    return name.startsWith('SYDEV');
  }

  drawPoints() {
    const sydev = document.querySelector('#detail-sydev tbody');
    const body = document.querySelector('#detail-points tbody');
    const status = [];
    const rows = [];
    for (const p of [...this.points.values()].sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (this.isStatusPoint(p.name))
        status.push(el('tr', { 'data-point': p.name }, el('th', { scope: 'row', text: p.name }),
          el('td', { class: 'value', text: formatValue(p.value) })));
      else rows.push(this.pointRow(p));
    }
    sydev.replaceChildren(...status);
    body.replaceChildren(...rows);
  }

  pointRow(p) {
    const writable = (this.device.writable || []).includes(p.name);
    const action = writable && this.app.canOperate()
      ? el('button', { type: 'button', 'data-action': 'write', text: 'Write…',
        'aria-label': `Write ${p.name}`, onclick: () => this.write(p.name) })
      : null;
    const quality = el('td', { class: 'quality ' + p.quality, text: p.quality });
    if (p.error) quality.title = p.error;
    return el('tr', { 'data-point': p.name },
      el('th', { scope: 'row', text: p.name }),
      el('td', { class: 'value', text: formatValue(p.value) }),
      quality,
      el('td', { class: 'age', 'data-timestamp': p.timestamp || '', text: age(p.timestamp) }),
      el('td', { class: 'trend-cell' }),
      el('td', {}, action));
  }

  drawPoint(p) {
    if (this.isStatusPoint(p.name)) {
      const row = document.querySelector(`#detail-sydev tr[data-point="${CSS.escape(p.name)}"]`);
      if (row) row.querySelector('.value').textContent = formatValue(p.value);
      else this.drawPoints();
      return;
    }
    const row = document.querySelector(`#detail-points tr[data-point="${CSS.escape(p.name)}"]`);
    if (!row) {
      this.drawPoints();
      return;
    }
    row.querySelector('.value').textContent = formatValue(p.value);
    const quality = row.querySelector('.quality');
    quality.textContent = p.quality;
    quality.className = 'quality ' + p.quality;
    quality.title = p.error || '';
    const ageCell = row.querySelector('.age');
    ageCell.dataset.timestamp = p.timestamp || '';
    ageCell.textContent = age(p.timestamp);
  }

  drawAges() {
    for (const cell of document.querySelectorAll('#detail-points td.age'))
      cell.textContent = age(cell.dataset.timestamp);
  }

  async loadTrends() {
    const id = this.id;
    if (!id || !this.historyKept) return;
    const to = new Date();
    const from = new Date(to.getTime() - TREND_SPAN_S * 1000);
    const note = document.getElementById('trend-note');
    for (const p of this.points.values()) {
      if (this.isStatusPoint(p.name) || typeof p.value === 'boolean' || typeof p.value === 'string') continue;
      let answer;
      try {
        answer = await get(`/api/v1/history?device=${enc(id)}&point=${enc(p.name)}` +
          `&from=${enc(from.toISOString())}&to=${enc(to.toISOString())}&interval_s=${TREND_INTERVAL_S}`);
      } catch (e) {
        if (e instanceof Unauthorized) return this.app.onUnauthorized();
        if (e instanceof ApiError && e.message.includes("no 'history:' section")) {
          this.historyKept = false;
          note.textContent = 'No trends: this node keeps no history.';
          return;
        }
        continue;  // this point is not recorded (history: false), or the store is unreadable
      }
      if (this.id !== id) return;
      note.textContent = `Trends: the last hour, per ${TREND_INTERVAL_S} s (min–max band and average).`;
      const row = document.querySelector(`#detail-points tr[data-point="${CSS.escape(p.name)}"]`);
      if (row) row.querySelector('.trend-cell').replaceChildren(trend(answer.intervals, from, to, p.name));
    }
  }

  drawActions() {
    const box = document.getElementById('detail-actions');
    if (!this.app.canOperate()) {
      box.replaceChildren();
      return;
    }
    const channel = this.channels.find((c) => c.id === this.device.active_channel);
    const buttons = [el('button', { type: 'button', 'data-action': 'poll', text: 'Poll now',
      onclick: () => this.act(`Poll every group of ${this.id} now?`,
        () => post(`/api/v1/devices/${enc(this.id)}/poll`)) })];
    if (channel) {
      const enable = !channel.enabled;
      const verb = enable ? 'enable' : 'disable';
      buttons.push(el('button', { type: 'button', 'data-action': 'channel-' + verb,
        text: `${enable ? 'Enable' : 'Disable'} channel ${channel.id}`,
        onclick: () => this.act(
          `${enable ? 'Enable' : 'Disable'} channel ${channel.id}? ` +
          (enable ? '' : 'Every device on it stops being polled through it.'),
          async () => {
            const r = await post(`/api/v1/channels/${enc(channel.id)}/${verb}`);
            if (r.ok) this.channels = await get('/api/v1/channels');
            return r;
          }) }));
    }
    box.replaceChildren(...buttons);
  }

  selectLine(n) {
    return this.act(`Make line ${n} the active line of ${this.id}?`, async () => {
      const r = await post(`/api/v1/devices/${enc(this.id)}/line`, { line: n });
      if (r.ok && r.body) {
        this.setDevice(r.body);
        this.app.onDevice(r.body);
      }
      return r;
    });
  }

  write(point) {
    return this.act(`Write to ${point} of ${this.id}:`, (value) =>
      post(`/api/v1/devices/${enc(this.id)}/write`, { point, value: parseValue(value) }), true);
  }

  // Confirm, then send once, then say how it went.
  async act(text, send, withValue = false) {
    const answer = await this.app.confirm(text, withValue);
    if (!answer.ok) return;
    const result = document.getElementById('action-result');
    result.className = '';
    result.textContent = 'sending…';
    try {
      const r = await send(answer.value);
      result.className = r.ok ? 'good' : 'bad';
      result.textContent = r.ok ? 'ok' : `refused (${r.status}): ${r.error}`;
    } catch (e) {
      if (e instanceof Unauthorized) this.app.onUnauthorized();
      result.className = 'bad';
      result.textContent = 'failed: ' + e.message;
    }
  }
}

function age(timestamp) {
  if (!timestamp) return '—';
  return formatAge(Date.now() - new Date(timestamp).getTime());
}

// A write's value as the API takes it: a number, true/false, or text.
function parseValue(text) {
  const t = text.trim();
  if (t === 'true') return true;
  if (t === 'false') return false;
  if (t !== '' && !Number.isNaN(Number(t))) return Number(t);
  return text;
}

const SVG = 'http://www.w3.org/2000/svg';

// The trend: a band from min to max and the average, per interval, over [from, to).
function trend(intervals, from, to, name) {
  const w = 180;
  const h = 32;
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('class', 'trend');
  svg.setAttribute('viewBox', `0 0 ${w} ${h}`);
  svg.setAttribute('role', 'img');
  const title = document.createElementNS(SVG, 'title');
  svg.append(title);
  if (!intervals || intervals.length === 0) {
    title.textContent = `${name}: no good values in the last hour`;
    svg.setAttribute('aria-label', title.textContent);
    return svg;
  }
  let lo = Infinity;
  let hi = -Infinity;
  for (const i of intervals) {
    lo = Math.min(lo, i.min);
    hi = Math.max(hi, i.max);
  }
  const last = intervals[intervals.length - 1];
  title.textContent = `${name}, last hour: min ${lo}, max ${hi}, last ${last.last}`;
  if (hi === lo) {
    hi += 1;
    lo -= 1;
  }
  const t0 = from.getTime();
  const span = to.getTime() - t0;
  const x = (iso) => ((new Date(iso).getTime() - t0) / span) * w;
  const y = (v) => h - 2 - ((v - lo) / (hi - lo)) * (h - 4);
  const upper = intervals.map((i) => `${x(i.time).toFixed(1)},${y(i.max).toFixed(1)}`);
  const lower = intervals.map((i) => `${x(i.time).toFixed(1)},${y(i.min).toFixed(1)}`).reverse();
  const band = document.createElementNS(SVG, 'polygon');
  band.setAttribute('class', 'band');
  band.setAttribute('points', upper.concat(lower).join(' '));
  const avg = document.createElementNS(SVG, 'polyline');
  avg.setAttribute('class', 'avg');
  avg.setAttribute('points', intervals.map((i) => `${x(i.time).toFixed(1)},${y(i.avg).toFixed(1)}`).join(' '));
  // The newest interval as a dot, so a trend of one interval (a young history) is visible too.
  const dot = document.createElementNS(SVG, 'circle');
  dot.setAttribute('class', 'last');
  dot.setAttribute('cx', x(last.time).toFixed(1));
  dot.setAttribute('cy', y(last.avg).toFixed(1));
  dot.setAttribute('r', '2.5');
  svg.append(band, avg, dot);
  svg.setAttribute('aria-label', title.textContent);
  return svg;
}
