/**
 * `netpol view`'s page: one self-contained HTML file (inline style and script, the data as embedded
 * JSON, a Content-Security-Policy that allows no request at all). The script draws the heat map on
 * a canvas and puts every model string into the page as text (`textContent`), never as markup; the
 * embedded JSON has `<`, `>` and `&` escaped, so no name can close its script element.
 */
import { CELL_DIGITS, HEAT_LEVELS, ViewData } from "./view";

/** The colours the page draws, also read by its test. Heat: denied, partly allowed (few → many), allowed. */
export const VIEW_COLOURS = {
  denied: [192, 57, 43],
  fewAllowed: [230, 126, 34],
  manyAllowed: [163, 201, 74],
  allowed: [39, 174, 96],
  sameEndpoint: [220, 220, 220],
  opened: [31, 111, 235],
  closed: [142, 36, 170],
  openedAndClosed: [17, 17, 17],
} as const;

const HTML_ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]);
}

/** JSON that is safe inside a `<script>` element: no `</script>`, no `<!--`, no line separators. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

const rgb = (c: readonly number[]) => `rgb(${c.join(",")})`;

/** The heat colours, level 0 … HEAT_LEVELS: partial shares between "few" and "many". */
function heatColours(): string[] {
  const { denied, fewAllowed, manyAllowed, allowed } = VIEW_COLOURS;
  const partial = Array.from({ length: HEAT_LEVELS - 1 }, (_, i) => {
    const t = HEAT_LEVELS - 2 === 0 ? 0 : i / (HEAT_LEVELS - 2);
    return rgb(fewAllowed.map((v, k) => Math.round(v + (manyAllowed[k] - v) * t)));
  });
  return [rgb(denied), ...partial, rgb(allowed)];
}

const STYLE = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 16px; color: #222; background: #fff; }
h1 { font-size: 18px; margin: 0 0 4px; }
#summary, #endpoint-changes { margin: 4px 0; color: #444; }
#changed-cells { margin: 4px 0; max-height: 30vh; overflow: auto; }
#changed-cells button { font: inherit; padding: 0 4px; cursor: pointer; }
#protocols button { font: inherit; margin: 0 4px 4px 0; padding: 2px 10px; border: 1px solid #999; background: #f4f4f4; cursor: pointer; }
#protocols button[aria-pressed="true"] { background: #222; color: #fff; border-color: #222; }
#legend span { display: inline-block; margin-right: 12px; }
#legend i { display: inline-block; width: 12px; height: 12px; margin-right: 4px; vertical-align: -1px; border: 1px solid #888; }
main { display: flex; gap: 16px; align-items: flex-start; margin-top: 8px; }
#grid { overflow: auto; max-width: 70vw; max-height: 85vh; }
canvas { display: block; cursor: crosshair; }
#details { flex: 1; min-width: 280px; max-height: 85vh; overflow: auto; border-left: 1px solid #ddd; padding-left: 12px; }
#details h2 { font-size: 15px; margin: 0 0 8px; word-break: break-all; }
#details h3 { font-size: 13px; margin: 10px 0 2px; }
#details ul { margin: 2px 0; padding-left: 18px; }
#details li { word-break: break-all; }
#tooltip { position: fixed; pointer-events: none; background: #222; color: #fff; padding: 4px 8px; font-size: 12px; max-width: 480px; border-radius: 3px; white-space: pre-wrap; }
`;

/** The page's script: plain ES2017, no library. It reads the data element and builds everything. */
const SCRIPT = String.raw`
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("netpol-data").textContent);
  var style = JSON.parse(document.getElementById("netpol-style").textContent);
  var n = data.groups.length;
  var digit = {};
  for (var c = 0; c < style.digits.length; c++) digit[style.digits[c]] = c;
  function expand(code) {
    var out = new Int32Array(n * n), base = style.digits.length;
    for (var k = 0; k < n * n; k++) {
      var v = 0;
      for (var w = 0; w < code.width; w++) v = v * base + digit[code.text[k * code.width + w]];
      out[k] = v - 1;
    }
    return out;
  }
  var cells = expand(data.cells);
  var changed = data.diff ? expand(data.diff.cells) : null;
  var protocol = Math.max(0, data.protocols.indexOf("tcp"));
  var selected = null;

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }

  var cell = Math.max(3, Math.min(28, Math.floor(720 / Math.max(1, n))));
  var ring = Math.max(2, Math.floor(cell / 5));
  var labelled = cell >= 10;
  var canvas = document.getElementById("matrix");
  var ctx = canvas.getContext("2d");
  var font = Math.min(12, cell - 2) + "px system-ui, sans-serif";
  ctx.font = font;
  var rowLabel = function (i) { return (i + 1) + "  " + data.groups[i].label; };
  var widest = 0;
  if (labelled) for (var i = 0; i < n; i++) widest = Math.max(widest, ctx.measureText(rowLabel(i)).width);
  var left = labelled ? Math.min(320, Math.ceil(widest) + 12) : 4;
  var top = labelled ? 24 : 4;
  canvas.width = left + n * cell + 1;
  canvas.height = top + n * cell + 1;
  canvas.dataset.left = String(left);
  canvas.dataset.top = String(top);
  canvas.dataset.cell = String(cell);
  canvas.dataset.ring = String(ring);

  function markOf(k) {
    if (!changed || changed[k] < 0) return 0;
    return data.diff.changes[changed[k]].marks[protocol];
  }

  function draw() {
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.font = font;
    ctx.textBaseline = "middle";
    ctx.fillStyle = "#222";
    if (labelled) {
      for (var i = 0; i < n; i++) {
        ctx.textAlign = "right";
        ctx.fillText(rowLabel(i), left - 6, top + i * cell + cell / 2, left - 8);
        if (cell >= 16 || (i + 1) % 5 === 0) {
          ctx.textAlign = "center";
          ctx.fillText(String(i + 1), left + i * cell + cell / 2, top / 2);
        }
      }
    }
    for (var s = 0; s < n; s++) for (var d = 0; d < n; d++) {
      var k = s * n + d, o = cells[k];
      var x = left + d * cell, y = top + s * cell;
      ctx.fillStyle = o < 0 ? style.same : style.heat[data.outcomes[o].heat[protocol]];
      ctx.fillRect(x, y, cell - (cell > 4 ? 1 : 0), cell - (cell > 4 ? 1 : 0));
      var mark = markOf(k);
      if (mark) {
        ctx.strokeStyle = mark === 1 ? style.opened : mark === 2 ? style.closed : style.both;
        ctx.lineWidth = ring;
        ctx.strokeRect(x + ring / 2, y + ring / 2, cell - 1 - ring, cell - 1 - ring);
      }
    }
    if (selected) {
      ctx.strokeStyle = "#000";
      ctx.lineWidth = 1;
      ctx.strokeRect(left + selected[1] * cell - 0.5, top + selected[0] * cell - 0.5, cell, cell);
    }
  }

  function cellAt(event) {
    var r = canvas.getBoundingClientRect();
    var d = Math.floor((event.clientX - r.left - left) / cell), s = Math.floor((event.clientY - r.top - top) / cell);
    return s >= 0 && d >= 0 && s < n && d < n ? [s, d] : null;
  }

  function linesOf(s, d, p) {
    var o = cells[s * n + d];
    return o < 0 ? ["allowed — same endpoint"] : data.outcomes[o].lines[p];
  }

  function changeOf(s, d) {
    return changed && changed[s * n + d] >= 0 ? data.diff.changes[changed[s * n + d]] : null;
  }

  function list(lines, cls) {
    var ul = el("ul");
    lines.forEach(function (line) { ul.appendChild(el("li", line, cls)); });
    return ul;
  }

  function members(title, group) {
    var box = el("details");
    box.appendChild(el("summary", title + ": " + group.label + " — " + group.members.length + " endpoint" + (group.members.length === 1 ? "" : "s") + (group.added ? " (only in the new model)" : "")));
    box.addEventListener("toggle", function () {
      if (box.open && box.children.length === 1) box.appendChild(list(group.members, "member"));
    });
    return box;
  }

  function showDetails(s, d) {
    var box = document.getElementById("details");
    box.textContent = "";
    box.appendChild(el("h2", data.groups[s].label + " → " + data.groups[d].label));
    var change = changeOf(s, d);
    if (change) {
      box.appendChild(el("h3", "What changed"));
      box.appendChild(list(change.lines, "change"));
    }
    box.appendChild(el("h3", data.protocols[protocol] + " (shown)"));
    box.appendChild(list(linesOf(s, d, protocol), "rule"));
    box.appendChild(el("h3", "Every protocol"));
    data.protocols.forEach(function (name, p) {
      if (p === protocol) return;
      box.appendChild(list(linesOf(s, d, p).map(function (line) { return name + ": " + line; }), "rule"));
    });
    box.appendChild(members("from", data.groups[s]));
    box.appendChild(members("to", data.groups[d]));
  }

  var tooltip = document.getElementById("tooltip");
  canvas.addEventListener("mousemove", function (event) {
    var at = cellAt(event);
    if (!at) { tooltip.hidden = true; return; }
    var change = changeOf(at[0], at[1]);
    tooltip.textContent = data.groups[at[0]].label + " → " + data.groups[at[1]].label + "\n" +
      linesOf(at[0], at[1], protocol).join("\n") + (change ? "\n" + change.lines.join("\n") : "");
    tooltip.style.left = (event.clientX + 14) + "px";
    tooltip.style.top = (event.clientY + 14) + "px";
    tooltip.hidden = false;
  });
  canvas.addEventListener("mouseleave", function () { tooltip.hidden = true; });
  function select(s, d) {
    selected = [s, d];
    draw();
    showDetails(s, d);
  }
  canvas.addEventListener("click", function (event) {
    var at = cellAt(event);
    if (at) select(at[0], at[1]);
  });

  var nav = document.getElementById("protocols");
  data.protocols.forEach(function (name, p) {
    var b = el("button", name);
    b.type = "button";
    b.setAttribute("aria-pressed", String(p === protocol));
    b.addEventListener("click", function () {
      protocol = p;
      Array.prototype.forEach.call(nav.children, function (c, i) { c.setAttribute("aria-pressed", String(i === p)); });
      draw();
      if (selected) showDetails(selected[0], selected[1]);
    });
    nav.appendChild(b);
  });

  var legend = document.getElementById("legend");
  function swatch(colour, text, outline) {
    var span = el("span"), i = el("i");
    i.style.background = outline ? "#fff" : colour;
    if (outline) i.style.border = "3px solid " + colour;
    span.appendChild(i);
    span.appendChild(document.createTextNode(text));
    legend.appendChild(span);
  }
  swatch(style.heat[0], "denied");
  swatch(style.heat[1], "few values allowed");
  swatch(style.heat[style.heat.length - 2], "most values allowed");
  swatch(style.heat[style.heat.length - 1], "allowed");
  swatch(style.same, "same endpoint");
  if (data.diff) {
    swatch(style.opened, "opened", true);
    swatch(style.closed, "closed", true);
    swatch(style.both, "opened and closed", true);
  }

  var endpoints = data.groups.reduce(function (t, g) { return t + g.members.length; }, 0);
  document.getElementById("summary").textContent = endpoints + " endpoints in " + n + " groups treated alike; rows: from, columns: to; colour: the share of the protocol's ports (or ICMP types) allowed. Click a cell for its deciding rules and members.";
  if (data.diff) {
    var cellsChanged = 0;
    for (var k = 0; k < changed.length; k++) if (changed[k] >= 0) cellsChanged++;
    var added = [];
    data.groups.forEach(function (g) { if (g.added) added = added.concat(g.members); });
    var parts = [cellsChanged + " cell(s) changed"];
    if (added.length) parts.push("only in the new model: " + added.join(", "));
    if (data.diff.removed.length) parts.push("only in the old model: " + data.diff.removed.join(", "));
    document.getElementById("endpoint-changes").textContent = parts.join("; ");
    // Changed cells are small at hundreds of groups: list them (the first MAX_LISTED) to jump to.
    var MAX_LISTED = 500, listing = document.getElementById("changed-cells"), ol = el("ol");
    listing.appendChild(el("summary", "Changed cells" + (cellsChanged > MAX_LISTED ? " (the first " + MAX_LISTED + ")" : "")));
    for (var c2 = 0; c2 < changed.length && ol.children.length < MAX_LISTED; c2++) {
      if (changed[c2] < 0) continue;
      var li = el("li"), b = el("button", data.groups[Math.floor(c2 / n)].label + " → " + data.groups[c2 % n].label, "changed-cell");
      b.type = "button";
      b.addEventListener("click", select.bind(null, Math.floor(c2 / n), c2 % n));
      li.appendChild(b);
      li.appendChild(document.createTextNode(" " + data.diff.changes[changed[c2]].lines.join("; ")));
      ol.appendChild(li);
    }
    listing.appendChild(ol);
    listing.hidden = false;
  }
  draw();
})();
`;

/** The whole page for the view data. */
export function viewPage(data: ViewData): string {
  const { sameEndpoint, opened, closed, openedAndClosed } = VIEW_COLOURS;
  const style = { digits: CELL_DIGITS, heat: heatColours(), same: rgb(sameEndpoint), opened: rgb(opened), closed: rgb(closed), both: rgb(openedAndClosed) };
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<title>netpol view — ${escapeHtml(data.title)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>Who may reach whom — ${escapeHtml(data.title)}</h1>
<p id="summary"></p>
<p id="endpoint-changes"></p>
<details id="changed-cells" hidden></details>
<nav id="protocols" aria-label="protocol"></nav>
<div id="legend"></div>
<main>
<div id="grid"><canvas id="matrix"></canvas></div>
<aside id="details">Click a cell to see the rules that decide it and the endpoints of its row and column.</aside>
</main>
<div id="tooltip" hidden></div>
<script type="application/json" id="netpol-style">${scriptJson(style)}</script>
<script type="application/json" id="netpol-data">${scriptJson(data)}</script>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
