/**
 * The tuning page as one HTML document: the layout and style here, uPlot's
 * script and stylesheet inlined from the `uplot` package (no network, like
 * the experiment reports), and the script of `page-script.ts` as source
 * text. The server builds it once and serves it at `/`, with a
 * Content-Security-Policy that runs only these two scripts (by their
 * SHA-256) and lets the page talk to its own server only.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tunePageMain } from "./page-script.js";

const require = createRequire(import.meta.url);

const style = `
* { box-sizing: border-box; }
body { font: 13px/1.4 system-ui, sans-serif; margin: 0; color: #1b1b1b; background: #fafafa; }
header { display: flex; flex-wrap: wrap; align-items: center; gap: 10px; padding: 10px 16px; background: #fff; border-bottom: 1px solid #ddd; }
header h1 { font-size: 18px; margin: 0; } header h1 #loop-name { color: #1f77b4; }
#summary, #sensor, .muted { color: #666; }
#health { color: #b22222; }
.pill { border-radius: 10px; padding: 1px 9px; font-weight: 600; color: #fff; background: #888; }
.pill.auto { background: #2ca02c; } .pill.manual { background: #ff7f0e; } .pill.paused { background: #1f77b4; } .pill.stopped { background: #b22222; }
.spacer { flex: 1; }
main { display: flex; gap: 14px; padding: 10px 16px; align-items: flex-start; }
#charts { flex: 1; min-width: 380px; }
.chart { background: #fff; border: 1px solid #e2e2e2; border-radius: 4px; padding: 6px 8px; margin-bottom: 10px; }
.chart h3 { margin: 0 0 2px; font-size: 13px; font-weight: 600; }
aside { width: 350px; flex: none; }
aside section { background: #fff; border: 1px solid #e2e2e2; border-radius: 4px; padding: 8px 10px; margin-bottom: 10px; }
aside h2 { font-size: 13px; margin: 0 0 6px; } aside h2 small { color: #666; font-weight: 400; }
.row { display: flex; gap: 6px; align-items: center; flex-wrap: wrap; }
#params .grid { display: grid; grid-template-columns: 1fr 1fr 1fr; gap: 4px 8px; margin-bottom: 6px; }
#params details { margin-bottom: 6px; } #params summary { cursor: pointer; color: #444; margin-bottom: 4px; }
.param { display: flex; flex-direction: column; gap: 1px; font-family: ui-monospace, monospace; font-size: 11px; color: #444; min-width: 0; }
.param input[type=text] { width: 100%; font-size: 13px; }
.param input[type=checkbox] { align-self: flex-start; }
input[type=text], input[type=number], select, textarea { font: inherit; padding: 2px 4px; border: 1px solid #bbb; border-radius: 3px; }
input.dirty { background: #fff6d5; border-color: #d4a017; }
textarea { width: 100%; height: 46px; font-family: ui-monospace, monospace; font-size: 12px; }
button { font: inherit; padding: 2px 10px; border: 1px solid #999; border-radius: 3px; background: #f4f4f4; cursor: pointer; }
button:hover { background: #e8e8e8; } button:disabled { cursor: default; opacity: 0.5; }
#step table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
#step th { text-align: left; font-weight: 400; color: #444; padding: 1px 4px 1px 0; } #step td { text-align: right; padding: 1px 0; }
#step p { margin: 0 0 4px; }
#message { min-height: 1.4em; margin: 0; } #message.error { color: #b22222; } #message.ok { color: #2a6f2a; }
#picker { padding: 16px; } #picker li { margin: 4px 0; }
[hidden] { display: none !important; }
`;

const body = `
<header>
  <h1>zmp tune <span id="loop-name"></span></h1>
  <select id="loop-select" hidden aria-label="loop"></select>
  <span id="status" class="pill">connecting…</span>
  <span id="summary"></span>
  <span id="health"></span>
  <span class="spacer"></span>
  <label>window <select id="window">
    <option value="30">30 s</option><option value="60" selected>60 s</option>
    <option value="120">120 s</option><option value="300">300 s</option>
  </select></label>
</header>
<section id="picker" hidden><h2>Feedback loops in this graph</h2><ul id="loop-list"></ul><p id="picker-note"></p></section>
<main id="main" hidden>
  <div id="charts">
    <div class="chart"><h3><span id="measurement-title">Backlog and setpoint</span> <span class="muted" id="sensor"></span></h3><div id="chart-backlog"></div></div>
    <div class="chart" id="rates-box"><h3>Rates: arrival, admitted, service (msg/s)</h3><div id="chart-rates"></div></div>
    <div class="chart"><h3>Controller output, applied value and its parts</h3><div id="chart-output"></div></div>
  </div>
  <aside id="controls">
    <section>
      <h2>Setpoint <small id="setpoint-now"></small></h2>
      <form id="setpoint-form" class="row"><input id="setpoint" type="text" inputmode="decimal" size="8"><button type="submit" id="apply-setpoint">Set</button></form>
    </section>
    <section>
      <h2>Gains and parameters <small>(bumpless; <span id="kind"></span>)</small></h2>
      <form id="params-form"><div id="params"></div><button type="submit" id="apply-params">Apply</button></form>
    </section>
    <section>
      <h2>Controller <small>(switch is bumpless where the kind allows)</small></h2>
      <form id="controller-form">
        <div class="row"><select id="controller-kind" aria-label="controller kind"></select><button type="submit" id="switch-controller">Switch</button></div>
        <textarea id="controller-options" aria-label="controller options (JSON)" spellcheck="false"></textarea>
      </form>
    </section>
    <section>
      <h2>Mode <small id="mode-now"></small></h2>
      <div class="row"><button id="pause" type="button">Pause</button><button id="resume" type="button">Resume</button>
      <input id="manual-output" type="text" inputmode="decimal" size="7" aria-label="manual output"><button id="manual" type="button">Manual</button><button id="auto" type="button">Auto</button></div>
    </section>
    <section id="disturbances">
      <h2>Disturbances</h2>
      <div id="capacity-controls" hidden><div class="row"><button id="capacity-halve" type="button">Halve capacity</button><button id="capacity-restore" type="button">Restore capacity</button></div><div class="muted" id="capacity-now"></div></div>
      <div id="burst-controls" hidden><div class="row"><input id="burst-count" type="text" inputmode="numeric" size="6" value="200" aria-label="burst size"><button id="burst" type="button">Burst</button><span class="muted">messages</span></div><div class="muted" id="burst-note"></div></div>
      <p class="muted" id="no-disturbance"></p>
    </section>
    <section>
      <h2>Latest step <small>(stepInfo)</small></h2><div id="step"></div>
      <form id="step-form" class="row"><label>band <input id="step-band" type="text" inputmode="decimal" size="3"> %</label><label>smoothing <input id="step-smoothing" type="text" inputmode="decimal" size="3"> s</label><button type="submit" id="apply-step">Measure</button></form>
    </section>
    <p id="message" role="status"></p>
  </aside>
</main>
`;

let cached: { html: string; policy: string } | undefined;

/** The page's HTML (built once per process). */
export function tunePage(): string {
  return build().html;
}

/** The page's Content-Security-Policy: its own inline scripts, requests to its own origin, no framing. */
export function tunePagePolicy(): string {
  return build().policy;
}

function build(): { html: string; policy: string } {
  if (cached !== undefined) return cached;
  const uplotScript = readFileSync(require.resolve("uplot/dist/uPlot.iife.min.js"), "utf8");
  const uplotStyle = readFileSync(require.resolve("uplot/dist/uPlot.min.css"), "utf8");
  // Transpilers that keep function names (tsx) call a `__name` helper inside the function's text.
  const script = `var __name = function (f) { return f; };\n(${tunePageMain.toString()})(uPlot);`;
  const scripts = [uplotScript, script.replace(/<\/script/gi, "<\\/script")];
  const hashes = scripts.map((s) => `'sha256-${createHash("sha256").update(s).digest("base64")}'`);
  const policy = [
    "default-src 'none'",
    `script-src ${hashes.join(" ")}`,
    "style-src 'unsafe-inline'",
    "connect-src 'self'",
    "img-src data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>zmp tune</title>
<style>${uplotStyle}</style>
<style>${style}</style>
</head>
<body>
${body}
<script>${scripts[0]}</script>
<script>${scripts[1]}</script>
</body>
</html>
`;
  cached = { html, policy };
  return cached;
}
