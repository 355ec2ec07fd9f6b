#include "api/status_page.hpp"

namespace pollux::api {

namespace {

// Self-contained on purpose: control rooms often have no internet access, so no CDN assets.
// Text goes through textContent (never innerHTML) so a device or point name cannot inject markup.
constexpr std::string_view kPage = R"html(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Pollux status</title>
<style>
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; background: #fafafa; }
h1 { font-size: 1.4em; margin: 0 0 .3em 0; }
h2 { font-size: 1.1em; margin: 1.4em 0 .4em 0; }
table { border-collapse: collapse; font-size: .9em; background: #fff; }
th, td { border: 1px solid #ccc; padding: .25em .6em; text-align: left; white-space: nowrap; }
th { background: #eee; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.ok, .good, .active { color: #176b2c; font-weight: 600; }
.down, .bad, .standby, .failed { color: #a61b1b; font-weight: 600; }
tr.comm-failed td { background: #fbe9e9; }
tr.comm-disabled td { background: #fdf6dc; }
.disabled, .uncertain { color: #8a6d00; font-weight: 600; }
#meta { color: #555; }
#error { color: #a61b1b; font-weight: 600; }
#login { margin: 1em 0; padding: .8em 1em; border: 1px solid #ccc; background: #fff; max-width: 34em; }
#login-why { color: #a61b1b; }
</style>
</head>
<body>
<h1>Pollux <span id="node"></span></h1>
<div id="meta">role <span id="role">?</span>, <span id="activity">?</span>
 &middot; updated <span id="updated">never</span> <span id="error"></span></div>
<form id="login" hidden autocomplete="off">
<p>This node's API needs a token. <span id="login-why"></span></p>
<label>API token <input id="login-token" type="password" size="40" required></label>
<button type="submit">Use token</button>
<p><small>Kept for this browser tab only (sessionStorage).</small></p>
</form>
<div id="northbound" hidden>northbound <span id="nb-edge"></span>: <span id="nb-state"></span>
 &middot; bdSeq <span id="nb-bdseq"></span> &middot; held <span id="nb-held"></span>
 &middot; published <span id="nb-published"></span> <span id="nb-error"></span></div>
<h2>Channels</h2>
<table id="channels"><thead><tr><th>id</th><th>type</th><th>protocol</th><th>enabled</th>
<th>status</th><th>stats</th></tr></thead><tbody></tbody></table>
<h2>Devices</h2>
<table id="devices"><thead><tr><th>id</th><th>comm</th><th>unit</th><th>enabled</th><th>auto</th>
<th>active line</th><th>channel</th><th>lines (eligible/usable)</th><th>last success</th>
<th>ok</th><th>failed</th><th>exceptions</th><th>timeouts</th><th>crc</th><th>framing</th>
</tr></thead><tbody></tbody></table>
<h2>Points</h2>
<table id="points"><thead><tr><th>device</th><th>name</th><th>value</th><th>quality</th>
<th>timestamp</th><th>error</th></tr></thead><tbody></tbody></table>
<script>
"use strict";
function cell(tr, text, cls) {
  const td = document.createElement("td");
  td.textContent = text === null || text === undefined ? "" : String(text);
  if (cls) td.className = cls;
  tr.appendChild(td);
}
function fill(id, rows, render) {
  const body = document.querySelector("#" + id + " tbody");
  const fresh = document.createElement("tbody");
  for (const row of rows) { const tr = document.createElement("tr"); render(tr, row); fresh.appendChild(tr); }
  body.replaceWith(fresh);
}
// spec/security.md: on a 401 the page asks for a token and keeps it for this tab only.
const TOKEN_KEY = "pollux_api_token";
class NeedToken extends Error {}
function show_login(why) {
  document.getElementById("login-why").textContent = why;
  document.getElementById("login").hidden = false;
  document.getElementById("login-token").focus();
}
document.getElementById("login").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const input = document.getElementById("login-token");
  sessionStorage.setItem(TOKEN_KEY, input.value.trim());
  input.value = "";
  document.getElementById("login").hidden = true;
  refresh();
});
async function api(path) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const headers = token ? {"Authorization": "Bearer " + token} : {};
  const r = await fetch(path, {cache: "no-store", headers: headers});
  if (r.status === 401) {
    if (token) sessionStorage.removeItem(TOKEN_KEY);
    throw new NeedToken(token ? "The token was refused." : "");
  }
  return r;
}
async function get(path) {
  const r = await api(path);
  if (!r.ok) {
    let why = "";
    try { why = (await r.json()).error || ""; } catch (e) { /* not JSON */ }
    throw new Error(path + ": HTTP " + r.status + (why ? " " + why : ""));
  }
  return r.json();
}
async function refresh() {
  try {
    const [health, channels, devices, points] = await Promise.all([
      get("/api/v1/health"), get("/api/v1/channels"), get("/api/v1/devices"), get("/api/v1/points")]);
    document.getElementById("node").textContent = health.node;
    document.getElementById("role").textContent = health.role;
    const act = document.getElementById("activity");
    act.textContent = health.activity; act.className = health.activity;
    fill("channels", channels, (tr, c) => {
      cell(tr, c.id); cell(tr, c.type); cell(tr, c.protocol); cell(tr, c.enabled ? "yes" : "no");
      cell(tr, c.status, c.status);
      cell(tr, Object.entries(c.stats || {}).map(([k, v]) => k + "=" + v).join(" "));
    });
    fill("devices", devices, (tr, d) => {
      const s = d.stats || {};
      cell(tr, d.id); cell(tr, d.comm, d.comm); tr.className = "comm-" + d.comm;
      cell(tr, d.unit, "num"); cell(tr, d.enabled ? "yes" : "no");
      cell(tr, d.auto ? "auto" : "manual");
      cell(tr, d.active_line + (d.primary_failed_over ? " (failed over)" : ""), "num");
      cell(tr, d.active_channel);
      cell(tr, (d.lines || []).map(l => l.line + ":" + l.channel + " " + (l.eligible ? "E" : "-") +
                                         (l.usable ? "U" : "-")).join("  "));
      cell(tr, d.last_success);
      for (const k of ["messages_ok", "messages_failed", "exceptions", "timeouts", "crc_errors",
                       "framing_errors"]) cell(tr, s[k], "num");
    });
    fill("points", points, (tr, p) => {
      cell(tr, p.device); cell(tr, p.name);
      cell(tr, p.value === null ? "null" : p.value, "num");
      cell(tr, p.quality, p.quality); cell(tr, p.timestamp); cell(tr, p.error);
    });
    // The Sparkplug session (spec/northbound.md); 404: no northbound section, nothing shown.
    const nb = await api("/api/v1/northbound");
    const box = document.getElementById("northbound");
    box.hidden = !nb.ok;
    if (nb.ok) {
      const n = await nb.json();
      document.getElementById("nb-edge").textContent = n.edge_node + " via " + n.broker;
      const st = document.getElementById("nb-state");
      st.textContent = n.state; st.className = n.connected ? "ok" : (n.state === "inactive" ? "" : "down");
      document.getElementById("nb-bdseq").textContent = n.bd_seq;
      document.getElementById("nb-held").textContent = n.held;
      document.getElementById("nb-published").textContent = n.published;
      document.getElementById("nb-error").textContent = n.last_error;
    }
    document.getElementById("updated").textContent = new Date().toISOString();
    document.getElementById("error").textContent = "";
  } catch (e) {
    if (e instanceof NeedToken) {
      show_login(e.message);
      document.getElementById("error").textContent = "(authentication required)";
      return;
    }
    document.getElementById("error").textContent = "(" + e.message + ")";
  }
}
refresh();
// While the form waits for a token, polling would only repeat the 401.
setInterval(() => { if (document.getElementById("login").hidden) refresh(); }, 2000);
</script>
</body>
</html>
)html";

}  // namespace

std::string_view status_page_html() {
  return kPage;
}

}  // namespace pollux::api
