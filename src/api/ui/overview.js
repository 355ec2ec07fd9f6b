// The overview (issue 23): every device as a tile coloured by its comm status, counts per
// status, search and a status filter. The grid is virtualised: only the tiles in view exist in
// the document, so 10,000 devices draw as fast as 50. Device events from the live stream update
// one entry and redraw at most once per animation frame.

import { commOf, commLabel, el } from './api.js';

const TILE_WIDTH = 190;
const TILE_HEIGHT = 52;
const GAP = 6;

export class Overview {
  constructor({ onOpen }) {
    this.onOpen = onOpen;
    this.devices = new Map();  // id -> DEVICE
    this.order = [];           // ids, sorted
    this.shown = [];           // ids that pass the filter
    this.selected = null;
    this.grid = document.getElementById('device-grid');
    this.space = document.getElementById('device-grid-space');
    this.search = document.getElementById('device-search');
    this.filter = document.getElementById('status-filter');
    this.pending = false;
    this.grid.addEventListener('scroll', () => this.drawTiles());
    new ResizeObserver(() => this.drawTiles()).observe(this.grid);
    this.search.addEventListener('input', () => this.refilter());
    this.filter.addEventListener('change', () => this.refilter());
    for (const button of document.querySelectorAll('#counts .count')) {
      button.addEventListener('click', () => {
        this.filter.value = button.dataset.filter;
        this.refilter();
      });
    }
    this.grid.addEventListener('keydown', (e) => this.onKey(e));
  }

  // The whole listing (GET /api/v1/devices), at start and after a resync.
  load(devices) {
    this.devices = new Map(devices.map((d) => [d.id, d]));
    this.order = devices.map((d) => d.id).sort(byId);
    this.refilter();
  }

  // One device changed (a `device` event, or an answer to an action).
  update(device) {
    const known = this.devices.has(device.id);
    const before = known ? this.devices.get(device.id) : null;
    this.devices.set(device.id, { ...(before || {}), ...device });
    if (!known) {
      this.order.push(device.id);
      this.order.sort(byId);
    }
    this.schedule();
  }

  get(id) {
    return this.devices.get(id);
  }

  select(id) {
    this.selected = id;
    this.drawTiles();
  }

  schedule() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.refilter();
    });
  }

  refilter() {
    const text = this.search.value.trim().toLowerCase();
    const status = this.filter.value;
    const counts = { all: 0, ok: 0, failover: 0, failed: 0, disabled: 0 };
    const shown = [];
    for (const id of this.order) {
      const comm = commOf(this.devices.get(id));
      counts.all += 1;
      counts[comm] = (counts[comm] || 0) + 1;
      if (status !== 'all' && comm !== status) continue;
      if (text && !id.toLowerCase().includes(text)) continue;
      shown.push(id);
    }
    this.shown = shown;
    for (const [name, n] of Object.entries(counts)) {
      const cell = document.querySelector(`[data-count="${name}"]`);
      if (cell) cell.textContent = String(n);
    }
    for (const button of document.querySelectorAll('#counts .count'))
      button.setAttribute('aria-pressed', String(button.dataset.filter === status));
    document.getElementById('device-shown').textContent = String(shown.length);
    this.drawTiles();
  }

  columns() {
    return Math.max(1, Math.floor((this.grid.clientWidth - GAP) / (TILE_WIDTH + GAP)));
  }

  drawTiles() {
    const cols = this.columns();
    const rows = Math.ceil(this.shown.length / cols);
    const content = rows * (TILE_HEIGHT + GAP) + GAP;
    this.space.style.height = content + 'px';
    // As tall as the tiles need, up to 60 % of the window; then it scrolls.
    const height = Math.max(TILE_HEIGHT * 2, Math.min(Math.round(window.innerHeight * 0.6), content)) + 'px';
    if (this.grid.style.height !== height) this.grid.style.height = height;
    const top = this.grid.scrollTop;
    const view = this.grid.clientHeight || 400;
    const first = Math.max(0, Math.floor(top / (TILE_HEIGHT + GAP)) - 2);
    const last = Math.min(rows, Math.ceil((top + view) / (TILE_HEIGHT + GAP)) + 2);
    const focused = document.activeElement && document.activeElement.classList.contains('device')
      ? document.activeElement.dataset.device : null;
    const tiles = [];
    for (let r = first; r < last; ++r) {
      for (let c = 0; c < cols; ++c) {
        const i = r * cols + c;
        if (i >= this.shown.length) break;
        tiles.push(this.tile(this.shown[i], i, r, c));
      }
    }
    for (const old of this.grid.querySelectorAll('.device')) old.remove();
    this.grid.append(...tiles);
    if (focused) {
      const again = this.grid.querySelector(`.device[data-device="${CSS.escape(focused)}"]`);
      if (again) again.focus({ preventScroll: true });
    }
  }

  tile(id, index, row, col) {
    const d = this.devices.get(id);
    const comm = commOf(d);
    const line = d.active_line ? 'line ' + d.active_line : '';
    const button = el('button', {
      type: 'button',
      class: 'device',
      'data-device': id,
      'data-comm': comm,
      'data-index': index,
      'aria-current': id === this.selected ? 'true' : null,
      title: `${id}: ${commLabel[comm]}${line ? ', ' + line : ''}`,
    }, el('span', { class: 'id', text: id }), el('span', { class: 'state', text: `${comm} · ${line}` }));
    button.style.top = GAP + row * (TILE_HEIGHT + GAP) + 'px';
    button.style.left = GAP + col * (TILE_WIDTH + GAP) + 'px';
    button.style.width = TILE_WIDTH + 'px';
    button.tabIndex = index === 0 || id === this.selected ? 0 : -1;
    button.addEventListener('click', () => this.onOpen(id));
    return button;
  }

  // Arrow keys move between tiles (the grid keeps one tab stop); Enter opens, as a button does.
  onKey(e) {
    const current = document.activeElement;
    if (!current || !current.classList.contains('device')) return;
    const cols = this.columns();
    const step = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: cols, ArrowUp: -cols,
      PageDown: cols * 5, PageUp: -cols * 5, Home: -Infinity, End: Infinity }[e.key];
    if (step === undefined) return;
    e.preventDefault();
    const index = Math.min(this.shown.length - 1, Math.max(0, Number(current.dataset.index) + step));
    const row = Math.floor(index / cols);
    const y = GAP + row * (TILE_HEIGHT + GAP);
    if (y < this.grid.scrollTop) this.grid.scrollTop = y - GAP;
    else if (y + TILE_HEIGHT > this.grid.scrollTop + this.grid.clientHeight)
      this.grid.scrollTop = y + TILE_HEIGHT + GAP - this.grid.clientHeight;
    this.drawTiles();
    const next = this.grid.querySelector(`.device[data-index="${index}"]`);
    if (next) {
      next.tabIndex = 0;
      next.focus();
    }
  }
}

function byId(a, b) {
  return a < b ? -1 : a > b ? 1 : 0;
}
