// Follows GET /api/v1/stream (docs/api.md "The live stream"). The browser's EventSource cannot
// send the bearer token, so this reads the Server-Sent Events from fetch's body stream itself,
// and does what EventSource would: reconnect after the server's `retry`, resuming with
// Last-Event-ID. A stream that stays silent for longer than the server's 15 s keepalive is taken
// as dead and reconnected.

import { authHeaders } from './api.js';

const SILENCE_LIMIT_MS = 40000;

export class LiveStream {
  // path: the stream URL with its filter; onEvent(kind, data); onState('live'|'reconnecting');
  // onUnauthorized(): the token was refused (the page asks for another).
  constructor(path, { onEvent, onState, onUnauthorized }) {
    this.path = path;
    this.onEvent = onEvent;
    this.onState = onState || (() => {});
    this.onUnauthorized = onUnauthorized || (() => {});
    this.lastId = null;
    this.retryMs = 2000;
    this.stopped = false;
    this.controller = null;
    this.run();
  }

  stop() {
    this.stopped = true;
    if (this.controller) this.controller.abort();
  }

  async run() {
    while (!this.stopped) {
      this.controller = new AbortController();
      let watchdog = null;
      const arm = () => {
        clearTimeout(watchdog);
        watchdog = setTimeout(() => this.controller.abort(), SILENCE_LIMIT_MS);
      };
      try {
        const headers = authHeaders({ Accept: 'text/event-stream' });
        if (this.lastId !== null) headers['Last-Event-ID'] = this.lastId;
        arm();
        const response = await fetch(this.path, { headers, signal: this.controller.signal, cache: 'no-store' });
        if (response.status === 401) {
          clearTimeout(watchdog);
          this.stopped = true;
          this.onUnauthorized();
          return;
        }
        if (!response.ok) throw new Error('HTTP ' + response.status);
        this.onState('live');
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          arm();
          buffer += value;
          let end;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            this.dispatch(buffer.slice(0, end));
            buffer = buffer.slice(end + 2);
          }
        }
      } catch (_) {
        // A network error, an abort by the watchdog or by stop(): reconnect unless stopped.
      }
      clearTimeout(watchdog);
      if (this.stopped) return;
      this.onState('reconnecting');
      await new Promise((resolve) => setTimeout(resolve, this.retryMs));
    }
  }

  dispatch(block) {
    let kind = 'message';
    let id = null;
    const data = [];
    for (const line of block.split('\n')) {
      if (line === '' || line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'event') kind = value;
      else if (field === 'data') data.push(value);
      else if (field === 'id') id = value;
      else if (field === 'retry' && /^\d+$/.test(value)) this.retryMs = Number(value);
    }
    if (id !== null) this.lastId = id;
    if (data.length === 0) return;
    let parsed;
    try {
      parsed = JSON.parse(data.join('\n'));
    } catch (_) {
      return;
    }
    this.onEvent(kind, parsed);
  }
}
