/**
 * The dashboard's page: one self-contained HTML document (inline CSS and
 * script, no framework, no build step). It reads the snapshot stream from
 * `events` (server-sent events, relative to the page's own path), draws a
 * row per connection with SVG sparklines of rate and RTT over the kept
 * history, and a timeline of faults and recoveries, newest first.
 */

const css = `
:root{color-scheme:dark;--bg:#0f1419;--panel:#171d24;--line:#263040;--text:#d8dee9;--dim:#7d8899;
--ok:#3fb950;--warn:#d29922;--bad:#f85149;--info:#58a6ff;--gap:#bc8cff}
*{box-sizing:border-box}body{margin:0;background:var(--bg);color:var(--text);
font:13px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
header{display:flex;flex-wrap:wrap;gap:18px;align-items:baseline;padding:12px 18px;border-bottom:1px solid var(--line)}
h1{font-size:15px;margin:0;font-weight:600}.dim{color:var(--dim)}
#status{margin-left:auto}#status.live{color:var(--ok)}#status.down{color:var(--bad)}
.totals b{color:var(--text)}main{display:grid;grid-template-columns:minmax(0,1fr) 360px;gap:14px;padding:14px 18px}
@media (max-width:1100px){main{grid-template-columns:1fr}}
section{background:var(--panel);border:1px solid var(--line);border-radius:6px;overflow:hidden}
h2{font-size:12px;margin:0;padding:8px 12px;border-bottom:1px solid var(--line);color:var(--dim);font-weight:600;
text-transform:uppercase;letter-spacing:.05em}
table{width:100%;border-collapse:collapse}th,td{padding:6px 10px;text-align:left;border-bottom:1px solid var(--line);
white-space:nowrap}th{color:var(--dim);font-weight:500;font-size:11px}td.num{text-align:right}
tr:last-child td{border-bottom:0}.state{display:inline-block;padding:1px 7px;border-radius:9px;font-size:11px;
background:#2d333b}.state.Open{background:#1f3d2a;color:var(--ok)}.state.Reconnecting,.state.Connecting,.state.Queued{
background:#3d3417;color:var(--warn)}.state.Closed{background:#432024;color:var(--bad)}
svg{vertical-align:middle}polyline{fill:none;stroke-width:1.5}.rate polyline{stroke:var(--info)}.rtt polyline{stroke:var(--gap)}
td.err{width:100%;max-width:0;overflow:hidden;text-overflow:ellipsis;color:var(--bad);cursor:pointer}
td.err.open{white-space:normal;word-break:break-word}
#timeline{list-style:none;margin:0;padding:0;max-height:calc(100vh - 120px);overflow:auto}
#timeline li{padding:5px 12px;border-bottom:1px solid var(--line);display:grid;grid-template-columns:64px 1fr;gap:2px 8px}
#timeline .t{color:var(--dim)}#timeline .c{font-weight:600}#timeline .x{grid-column:2;color:var(--dim);word-break:break-word}
#timeline li.fault .c{color:var(--bad)}#timeline li.recovered .c{color:var(--ok)}#timeline li.gap .c{color:var(--gap)}
#timeline li.info .c{color:var(--info)}.kind{font-size:10px;text-transform:uppercase;margin-left:6px;color:var(--dim)}
`

const script = `
const base = location.pathname.endsWith("/") ? location.pathname : location.pathname + "/";
const $ = (id) => document.getElementById(id);
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
const fmt = (n, d) => n === null || n === undefined ? "—" : n < 10 ? n.toFixed(d) : n.toFixed(0);
// The kept history spans the width (up to the last 60 s); scaled to its own maximum.
const spark = (values, cls) => {
  const w = 120, h = 22, xs = values.map((v) => v === null ? NaN : v);
  const max = Math.max(1e-9, ...xs.filter((v) => !isNaN(v)));
  const step = w / Math.max(1, values.length - 1);
  let d = "";
  xs.forEach((v, i) => { if (!isNaN(v)) d += (i * step).toFixed(1) + "," + (h - 1 - (v / max) * (h - 2)).toFixed(1) + " "; });
  return '<svg class="' + cls + '" width="' + w + '" height="' + h + '"><polyline points="' + d + '"/></svg>';
};
const open = new Set();
const timeline = new Map();
const time = (at) => new Date(at).toISOString().slice(11, 19);
function renderSnapshot(s) {
  const t = s.totals;
  $("totals").innerHTML = "open <b>" + t.open + "/" + t.connections + "</b> · msgs/s <b>" + t.rate.toFixed(0) +
    "</b> · reconnects <b>" + t.reconnects + "</b> · gaps <b>" + t.gaps + "</b> · failed dials <b>" + t.failedDials + "</b>";
  $("rows").innerHTML = s.connections.map((c) =>
    '<tr data-connection="' + esc(c.name) + '" data-state="' + esc(c.state) + '">' +
    "<td>" + esc(c.name) + '</td><td><span class="state ' + esc(c.state) + '">' + esc(c.state) + "</span></td>" +
    '<td class="num">' + c.rate.toFixed(0) + "</td><td>" + spark(c.history.rate, "rate") + "</td>" +
    '<td class="num">' + (c.rtt === null ? "—" : fmt(c.rtt, 2) + " ms") + "</td><td>" + spark(c.history.rtt, "rtt") + "</td>" +
    '<td class="num">' + c.reconnects + '</td><td class="num">' + c.gaps + "</td>" +
    '<td class="err' + (open.has(c.name) ? " open" : "") + '" data-name="' + esc(c.name) + '" title="' +
    esc(c.lastError ?? "") + '">' + esc(c.lastError ?? "") + "</td></tr>").join("");
}
function addEntries(entries) {
  for (const e of entries) timeline.set(e.id, e);
  const ids = [...timeline.keys()].sort((a, b) => b - a);
  for (const id of ids.slice(300)) timeline.delete(id);
  $("timeline").innerHTML = ids.slice(0, 300).map((id) => {
    const e = timeline.get(id);
    return '<li class="' + esc(e.kind) + '" data-kind="' + esc(e.kind) + '" data-connection="' + esc(e.connection) +
      '"><span class="t">' + time(e.at) + '</span><span class="c">' + esc(e.connection) + '<span class="kind">' +
      esc(e.kind) + '</span></span><span class="x">' + esc(e.text) + "</span></li>";
  }).join("");
}
$("rows").addEventListener("click", (ev) => {
  const td = ev.target.closest("td.err");
  if (!td) return;
  const name = td.dataset.name;
  open.has(name) ? open.delete(name) : open.add(name);
  td.classList.toggle("open");
});
const source = new EventSource(base + "events");
source.addEventListener("snapshot", (ev) => { renderSnapshot(JSON.parse(ev.data)); $("status").textContent = "live"; $("status").className = "live"; });
source.addEventListener("timeline", (ev) => addEntries(JSON.parse(ev.data)));
source.onerror = () => { $("status").textContent = "reconnecting…"; $("status").className = "down"; };
`

/** The page, served at the dashboard's root. */
export const page = (title: string): string =>
  `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)}</title><style>${css}</style></head>
<body><header><h1>${
    escapeHtml(title)
  }</h1><span class="totals dim" id="totals">connecting…</span><span id="status" class="down">connecting…</span></header>
<main><section><h2>Connections</h2><table><thead><tr><th>connection</th><th>state</th><th>msgs/s</th><th>rate, 60 s</th>
<th>rtt</th><th>rtt, 60 s</th><th>reconn</th><th>gaps</th><th>last error (click for all of it)</th></tr></thead>
<tbody id="rows"></tbody></table></section>
<section><h2>Timeline</h2><ul id="timeline"></ul></section></main>
<script>${script}</script></body></html>
`

const escapeHtml = (text: string) =>
  text.replace(/[&<>"]/g, (c) => c === "&" ? "&amp;" : c === "<" ? "&lt;" : c === ">" ? "&gt;" : "&quot;")
