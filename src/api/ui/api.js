// The page's way to the node's API (docs/api.md): requests with the tab's bearer token
// (security.md: the page asks for one on 401 and keeps it in sessionStorage), and small helpers
// shared by the views. Text always goes into the page through textContent, never as markup, so a
// device or point name cannot inject anything.

const TOKEN_KEY = 'pollux_api_token';

export class Unauthorized extends Error {}

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

export function authHeaders(extra = {}) {
  const t = token();
  return t ? { ...extra, Authorization: 'Bearer ' + t } : extra;
}

async function errorText(response) {
  try {
    const body = await response.json();
    if (body && body.error) return body.error;
  } catch (_) { /* not JSON */ }
  return 'HTTP ' + response.status;
}

// GET a JSON answer. 401 throws Unauthorized; other failures throw ApiError.
export async function get(path) {
  const response = await fetch(path, { headers: authHeaders(), cache: 'no-store' });
  if (response.status === 401) throw new Unauthorized();
  if (!response.ok) throw new ApiError(response.status, await errorText(response));
  return response.json();
}

// POST a JSON body; answers {ok, status, body|error} instead of throwing on an API refusal.
export async function post(path, body) {
  const response = await fetch(path, {
    method: 'POST',
    headers: authHeaders({ 'Content-Type': 'application/json' }),
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 401) throw new Unauthorized();
  if (!response.ok) return { ok: false, status: response.status, error: await errorText(response) };
  return { ok: true, status: response.status, body: await response.json().catch(() => null) };
}

export const enc = encodeURIComponent;

// How a device's state is shown: comm `ok` on a line other than the primary is "failover".
export function commOf(device) {
  if (device.comm === 'ok' && device.active_line !== 1) return 'failover';
  return device.comm;
}

export const commLabel = {
  ok: 'ok',
  failover: 'on a failover line',
  failed: 'failed',
  disabled: 'disabled',
};

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = value;
    else if (key.startsWith('data-') || key.startsWith('aria-') || key === 'role' ||
             key === 'type' || key === 'title' || key === 'datetime' || key === 'scope') {
      node.setAttribute(key, value === true ? '' : String(value));
    } else node[key] = value;
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function formatValue(value) {
  if (value === null || value === undefined) return '—';
  if (typeof value === 'number') return String(value);
  return String(value);
}

export function formatAge(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return '—';
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return s + ' s';
  if (s < 3600) return Math.floor(s / 60) + ' min ' + (s % 60) + ' s';
  if (s < 86400) return Math.floor(s / 3600) + ' h ' + Math.floor((s % 3600) / 60) + ' min';
  return Math.floor(s / 86400) + ' d';
}

export function formatTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}
