/**
 * The tuning page's script. It is written here as one typed, self-contained
 * function (checked against the DOM types like the rest of the code) and
 * sent to the browser as its source text: `page.ts` puts
 * `(${tunePageMain})(uPlot)` in the page. So it must not use anything from
 * this module's scope — no imports but types, no helpers outside it.
 *
 * It picks the loop (`?loop=NAME`, else the server's choice, else the only
 * one, else a list), opens the server-sent events of that loop, keeps the
 * samples of the chosen time window in three uPlot charts (redrawn at most
 * once per animation frame), and turns the controls into calls of the
 * server's JSON API. Every request carries the server's token, read from the
 * page's own address (`?token=…`): as an `Authorization` header, and in the
 * query of the event stream (an EventSource sends no headers) and of the
 * links between loops. For checks it sets `window.zmpTune` (`TunePageHandle`).
 */
import type uPlot from "uplot";
import type { LoopSample, LoopState } from "../loop/feedback-loop.js";
import type { DisturbanceTargets } from "./disturbances.js";
import type { LoopInfo } from "./loops.js";
import type { SessionSnapshot } from "./session.js";
import type { StepOptions, StepReport } from "./steps.js";

/** What the page exposes as `window.zmpTune`, for tests and screenshots. */
export interface TunePageHandle {
  /** True once the charts of a loop are drawn with data. */
  ready: boolean;
  /** The loop shown, or null while the page lists the loops. */
  loop: string | null;
  /** Samples received since the page loaded (history and stream). */
  received: number;
  /** `seq` of the newest sample. */
  lastSeq: number;
  /** Chart redraws so far. */
  draws: number;
  /** The charts: `backlog`, `rates`, `output`. */
  charts: Record<string, uPlot>;
  state: LoopState | null;
  step: StepReport | null;
  targets: DisturbanceTargets | null;
}

/** The page's script (see the module comment); `UPlot` is the uPlot constructor the page loaded. */
export function tunePageMain(UPlot: typeof uPlot): void {
  type Param = number | boolean | string | null;
  type SeriesSpec = {
    label: string;
    color: string;
    dashed?: boolean;
    width?: number;
    pick: (s: LoopSample) => number | null;
  };

  const handle: TunePageHandle = {
    ready: false,
    loop: null,
    received: 0,
    lastSeq: 0,
    draws: 0,
    charts: {},
    state: null,
    step: null,
    targets: null,
  };
  (window as unknown as { zmpTune: TunePageHandle }).zmpTune = handle;

  const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T;
  const palette = ["#d62728", "#2ca02c", "#17becf", "#bcbd22", "#8c564b", "#e377c2", "#ff7f0e", "#1f77b4"];
  const componentColors: Record<string, string> = { p: "#d62728", i: "#2ca02c", d: "#17becf", ff: "#bcbd22" };

  let samples: LoopSample[] = [];
  let state: LoopState | null = null;
  let step: StepReport | null = null;
  let targets: DisturbanceTargets | null = null;
  let baseSpeed: number | null = null;
  let measuring: Required<StepOptions> = { settlingThreshold: 0.05, smoothing: 1 };
  let windowSeconds = 60;
  let componentKeys: string[] = [];
  let drawScheduled = false;
  const charts: Record<string, uPlot> = handle.charts;
  const dirty = new Set<string>();

  // ------------------------------------------------------------ formatting

  function fmt(value: number | null | undefined, digits = 4): string {
    if (typeof value !== "number" || !Number.isFinite(value)) return "–";
    return String(Number(value.toPrecision(digits)));
  }

  function finite(value: number | null | undefined): number | null {
    return typeof value === "number" && Number.isFinite(value) ? value : null;
  }

  function say(text: string, error = false): void {
    const el = $("message");
    el.textContent = text;
    el.className = error ? "error" : "ok";
  }

  function escapeText(text: string): string {
    const div = document.createElement("div");
    div.textContent = text;
    return div.innerHTML;
  }

  // ------------------------------------------------------------ server

  const token = new URLSearchParams(location.search).get("token") ?? "";
  const api = (loop: string, path = ""): string => `api/loops/${encodeURIComponent(loop)}${path}`;
  /** The page's query for `loop`, keeping the token. */
  const pageQuery = (loop: string): string => `?${new URLSearchParams({ loop, token }).toString()}`;

  async function request<T>(url: string, body?: unknown): Promise<T> {
    const authorization = `token ${token}`;
    const response = await fetch(
      url,
      body === undefined
        ? { headers: { Authorization: authorization } }
        : {
            method: "POST",
            headers: { "Content-Type": "application/json", Authorization: authorization },
            body: JSON.stringify(body),
          },
    );
    const reply = (await response.json().catch(() => ({}))) as T & { error?: string };
    if (!response.ok) throw new Error(reply.error ?? `${response.status} ${response.statusText}`);
    return reply;
  }

  async function act<T>(what: string, url: string, body: unknown): Promise<T | undefined> {
    try {
      const reply = await request<T>(url, body);
      say(what);
      return reply;
    } catch (error) {
      say((error as Error).message, true);
      return undefined;
    }
  }

  // ------------------------------------------------------------ charts

  function rateSeries(): SeriesSpec[] {
    const offered = (s: LoopSample): number | null => finite(s.values.offeredRate);
    return [
      {
        label: "arrival",
        color: "#ff7f0e",
        pick: (s) => offered(s) ?? finite(s.observation?.arrivalRate),
      },
      {
        label: "admitted",
        color: "#1f77b4",
        pick: (s) => (offered(s) === null ? null : finite(s.observation?.arrivalRate)),
      },
      { label: "service", color: "#2ca02c", pick: (s) => finite(s.observation?.serviceRate) },
    ];
  }

  /** The parts first, so the output is drawn on top of them. */
  function outputSeries(): SeriesSpec[] {
    const specs: SeriesSpec[] = componentKeys.map((key, k) => ({
      label: key,
      color: componentColors[key] ?? palette[k % palette.length]!,
      width: 1,
      pick: (s: LoopSample) => finite(s.components[key]),
    }));
    specs.push(
      { label: "applied", color: "#9467bd", dashed: true, pick: (s) => finite(s.applied) },
      { label: "output", color: "#1b1b1b", width: 2, pick: (s) => finite(s.output) },
    );
    return specs;
  }

  /** A queue loop's measurement is a backlog in messages; other loops' is just the measurement. */
  const isBacklog = (): boolean => /^backlog\b/.test(state?.sensor ?? "");

  const chartSpecs: Record<string, () => SeriesSpec[]> = {
    backlog: () => [
      {
        label: isBacklog() ? "backlog" : "measurement",
        color: "#1f77b4",
        width: 2,
        pick: (s) => finite(s.measurement),
      },
      { label: "setpoint", color: "#7f7f7f", dashed: true, pick: (s) => finite(s.setpoint) },
    ],
    rates: rateSeries,
    output: outputSeries,
  };
  const units = (id: string): string =>
    id === "rates" ? "msg/s" : id === "output" ? "output" : isBacklog() ? "msg" : "measurement";

  function chartWidth(): number {
    return Math.max(360, $("charts").clientWidth - 4);
  }

  /** A vertical line at the latest step. */
  function stepMarker(u: uPlot): void {
    if (step === null) return;
    const x = u.valToPos(step.time, "x", true);
    if (!(x >= u.bbox.left && x <= u.bbox.left + u.bbox.width)) return;
    const ctx = u.ctx;
    ctx.save();
    ctx.strokeStyle = "#b8860b";
    ctx.setLineDash([4, 4]);
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(x, u.bbox.top);
    ctx.lineTo(x, u.bbox.top + u.bbox.height);
    ctx.stroke();
    ctx.restore();
  }

  function makeChart(id: string): void {
    charts[id]?.destroy();
    const specs = chartSpecs[id]!();
    const opts: uPlot.Options = {
      width: chartWidth(),
      height: id === "output" ? 240 : 200,
      scales: { x: { time: false } },
      axes: [{ label: "time (s)" }, { label: units(id), size: 60 }],
      legend: { live: false },
      cursor: { drag: { x: false, y: false } },
      series: [
        { label: "t (s)" },
        ...specs.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: s.width ?? 1.5,
          points: { show: false },
          ...(s.dashed ? { dash: [8, 5] } : {}),
        })),
      ],
      hooks: { draw: [stepMarker] },
    };
    const el = $(`chart-${id}`);
    el.textContent = "";
    charts[id] = new UPlot(opts, chartData(specs), el);
  }

  function visible(): LoopSample[] {
    const last = samples.at(-1);
    if (last === undefined) return [];
    const from = last.time - windowSeconds;
    let k = samples.length - 1;
    while (k > 0 && samples[k - 1]!.time >= from) k--;
    return samples.slice(k);
  }

  function chartData(specs: SeriesSpec[]): uPlot.AlignedData {
    const shown = visible();
    return [shown.map((s) => s.time), ...specs.map((spec) => shown.map(spec.pick))];
  }

  function keysOf(list: LoopSample[]): string[] {
    const seen = new Set<string>();
    for (const s of list) for (const key of Object.keys(s.components)) seen.add(key);
    const order = ["p", "i", "d", "ff"];
    return [...seen].sort((a, b) => {
      const ia = order.indexOf(a);
      const ib = order.indexOf(b);
      return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib) || a.localeCompare(b);
    });
  }

  function draw(): void {
    drawScheduled = false;
    const keys = keysOf(visible());
    if (keys.join() !== componentKeys.join() || charts.output === undefined) {
      componentKeys = keys;
      makeChart("output");
    }
    for (const id of ["backlog", "rates"]) if (charts[id] === undefined) makeChart(id);
    for (const id of Object.keys(chartSpecs)) charts[id]!.setData(chartData(chartSpecs[id]!()));
    // Loops whose sensor measures no rate get no rates chart.
    const rates = rateSeries();
    $("rates-box").hidden = !visible().some((s) => rates.some((r) => r.pick(s) !== null));
    handle.draws++;
    if (samples.length > 0 && !handle.ready)
      requestAnimationFrame(() => {
        handle.ready = true;
      });
  }

  function scheduleDraw(): void {
    if (drawScheduled) return;
    drawScheduled = true;
    requestAnimationFrame(draw);
  }

  window.addEventListener("resize", () => {
    for (const chart of Object.values(charts)) chart.setSize({ width: chartWidth(), height: chart.height });
  });

  // ------------------------------------------------------------ state and controls

  function renderState(): void {
    if (state === null) return;
    const s = state;
    handle.state = s;
    const running = s.status === "running";
    const pill = $("status");
    pill.textContent = running ? s.mode : s.status;
    pill.className = `pill ${running ? s.mode : "stopped"}`;
    renderSummary();
    const errors = s.errors.sensor + s.errors.controller + s.errors.actuator + s.errors.publish;
    $("health").textContent =
      errors > 0
        ? `errors: sensor ${s.errors.sensor}, controller ${s.errors.controller}, actuator ${s.errors.actuator}, ` +
          `publish ${s.errors.publish}${s.consecutiveErrors > 0 && s.lastError ? ` · now: ${s.lastError}` : ""}`
        : "";
    $("sensor").textContent = s.sensor;
    $("measurement-title").textContent = isBacklog() ? "Backlog and setpoint" : "Measurement and setpoint";
    const inputs = document.querySelectorAll<HTMLButtonElement | HTMLInputElement>(
      "#controls button, #controls input, #controls select, #controls textarea",
    );
    for (const el of Array.from(inputs)) el.disabled = !running;
    const setpoint = $<HTMLInputElement>("setpoint");
    if (!dirty.has("setpoint") && document.activeElement !== setpoint) setpoint.value = String(s.setpoint);
    $("setpoint-now").textContent = `now ${fmt(s.setpoint)}`;
    renderParams(s);
    renderController(s);
    $("mode-now").textContent =
      s.mode === "manual"
        ? `manual at ${fmt(s.manualOutput)}`
        : s.mode === "paused"
          ? "paused: output held"
          : "automatic";
    const manual = $<HTMLInputElement>("manual-output");
    if (!dirty.has("manual") && document.activeElement !== manual)
      manual.value = fmt(s.manualOutput ?? s.output);
  }

  /** The line under the title: the state, with the newest sample's numbers. */
  function renderSummary(): void {
    if (state === null) return;
    const s = state;
    const last = samples.at(-1) ?? s.last;
    $("summary").textContent =
      `${s.controller.kind} · revision ${s.revision} · sample ${last?.seq ?? 0} every ${fmt(s.sampleTime)} s` +
      `${s.overruns > 0 ? ` (${s.overruns} overrun)` : ""} · output ${fmt(last?.output ?? s.output)} → ` +
      `${s.actuator.description} ${fmt(last?.applied ?? s.applied)}`;
  }

  function paramId(key: string): string {
    return `param-${key.replace(/[^A-Za-z0-9_-]/g, "_")}`;
  }

  function renderParams(s: LoopState): void {
    const params = s.controller.params;
    const box = $("params");
    const keys = Object.keys(params);
    const layout = `${s.controller.kind}:${keys.join(",")}`;
    if (box.dataset.layout !== layout) {
      box.dataset.layout = layout;
      box.textContent = "";
      dirty.clear();
      // The gains in front; the other parameters one click away.
      const gains = keys.filter((k) => /^(?:(?:outer|inner)\.)?k(?:p|i|d|ff)$/.test(k));
      const main = gains.length > 0 ? gains : keys;
      const grid = document.createElement("div");
      grid.className = "grid";
      const more = document.createElement("details");
      const summary = document.createElement("summary");
      summary.textContent = `other parameters (${keys.length - main.length})`;
      const moreGrid = document.createElement("div");
      moreGrid.className = "grid";
      more.append(summary, moreGrid);
      box.append(grid);
      if (main.length < keys.length) box.append(more);
      for (const key of keys) {
        const value = params[key] as Param;
        const label = document.createElement("label");
        label.className = "param";
        const name = document.createElement("span");
        name.textContent = key;
        const input = document.createElement("input");
        input.id = paramId(key);
        input.dataset.param = key;
        input.dataset.kind = value === null ? "null" : typeof value;
        if (typeof value === "boolean") input.type = "checkbox";
        else {
          input.type = "text";
          input.spellcheck = false;
          input.autocomplete = "off";
        }
        input.addEventListener("input", () => {
          dirty.add(key);
          input.classList.add("dirty");
        });
        label.append(name, input);
        (main.includes(key) ? grid : moreGrid).append(label);
      }
    }
    for (const input of Array.from(box.querySelectorAll<HTMLInputElement>("input[data-param]"))) {
      const key = input.dataset.param!;
      if (dirty.has(key) || document.activeElement === input) continue;
      const value = params[key] as Param;
      if (input.type === "checkbox") input.checked = value === true;
      else input.value = value === null ? "" : String(value);
    }
  }

  /** The changed params of the form, or an error naming the first bad one. */
  function changedParams(): Record<string, Param> {
    const params = state?.controller.params ?? {};
    const changes: Record<string, Param> = {};
    for (const input of Array.from($("params").querySelectorAll<HTMLInputElement>("input[data-param]"))) {
      const key = input.dataset.param!;
      const was = params[key] as Param;
      let value: Param;
      if (input.type === "checkbox") value = input.checked;
      else {
        const text = input.value.trim();
        const number = Number(text);
        if (text === "") value = null;
        else if (/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(text) && Number.isFinite(number))
          value = number;
        else if (input.dataset.kind === "number") throw new Error(`${key} expects a number, got "${text}"`);
        else value = text;
        if (value === null && input.dataset.kind === "number")
          throw new Error(`${key} expects a number, got nothing`);
      }
      if (value !== was) changes[key] = value;
    }
    return changes;
  }

  function renderController(s: LoopState): void {
    const select = $<HTMLSelectElement>("controller-kind");
    if (select.dataset.kinds !== s.kinds.join()) {
      select.dataset.kinds = s.kinds.join();
      select.textContent = "";
      for (const kind of s.kinds) {
        const option = document.createElement("option");
        option.value = kind;
        option.textContent = kind;
        select.append(option);
      }
    }
    $("kind").textContent = s.controller.kind;
    if (!dirty.has("controller") && document.activeElement !== select) {
      select.value = s.controller.kind;
      optionsFor(s.controller.kind);
    }
  }

  function optionsFor(kind: string): void {
    const spec = state?.controller.spec;
    $<HTMLTextAreaElement>("controller-options").value =
      spec && spec.kind === kind ? JSON.stringify(spec.options ?? {}) : "{}";
  }

  function renderTargets(): void {
    const t = targets;
    handle.targets = t;
    const workers = t?.workers ?? [];
    const capacity = $("capacity-controls");
    capacity.hidden = workers.length === 0;
    const speeds = [...new Set(workers.map((w) => fmt(w.speed)))].join(", ");
    $("capacity-now").textContent =
      workers.length === 0
        ? ""
        : `${workers.length} worker${workers.length > 1 ? "s" : ""} of ${t!.queue} at speed ${speeds}`;
    $("burst-controls").hidden = (t?.producers.length ?? 0) === 0;
    $("burst-note").textContent =
      t && t.producers.length > 0 ? `onto ${t.queue}, beside ${t.producers.join(", ")}` : "";
    $("no-disturbance").textContent =
      workers.length === 0 && (t?.producers.length ?? 0) === 0
        ? t?.queue
          ? `No queue worker or load generator found on queue ${t.queue}.`
          : "The loop's queue is unknown (start zmp tune with --queue NAME)."
        : "";
  }

  function renderStep(): void {
    handle.step = step;
    for (const [id, value] of [
      ["step-band", measuring.settlingThreshold * 100],
      ["step-smoothing", measuring.smoothing],
    ] as const) {
      const input = $<HTMLInputElement>(id);
      if (document.activeElement !== input) input.value = fmt(value);
    }
    const box = $("step");
    if (step === null) {
      box.innerHTML = `<p class="muted">No step in the window yet: change the setpoint, or step the capacity.</p>`;
      return;
    }
    const st = step;
    const i = st.info;
    const head =
      st.kind === "setpoint"
        ? `Setpoint ${fmt(st.from)} → ${fmt(st.to)} at t = ${fmt(st.time, 5)} s (backlog measured)`
        : `Capacity: speed ${fmt(st.from)} → ${fmt(st.to)} at t = ${fmt(st.time, 5)} s (output measured)`;
    const rows: [string, string][] = [
      ["rise time", `${fmt(i.riseTime)} s`],
      ["settling time", `${fmt(i.settlingTime)} s`],
      ["overshoot", `${fmt(i.overshoot, 3)} %`],
      ["undershoot", `${fmt(i.undershoot, 3)} %`],
      ["peak", `${fmt(i.peak)} at ${fmt(i.peakTime)} s`],
      ["steady state", fmt(i.steadyStateValue)],
    ];
    const band = `${fmt(st.settlingThreshold * 100, 3)} %`;
    rows[1]![0] = `settling time (${band})`;
    const d = st.disturbance;
    if (d !== null)
      rows.push(
        ["backlog off setpoint", `${fmt(d.peakDeviation)} at ${fmt(d.peakTime)} s`],
        [`back within ${band} of setpoint`, `${fmt(d.recoveryTime)} s`],
        ["IAE since the step", fmt(d.iae)],
      );
    box.innerHTML = `<p>${escapeText(head)}</p><table>${rows
      .map(([k, v]) => `<tr><th>${escapeText(k)}</th><td>${escapeText(v)}</td></tr>`)
      .join("")}</table><p class="muted">${st.samples} samples, ${fmt(st.elapsed, 3)} s since the step; ${
      st.smoothing > 0 ? `${fmt(st.smoothing)} s moving average` : "raw samples"
    }</p>`;
  }

  function addSample(sample: LoopSample): void {
    const last = samples.at(-1);
    if (last !== undefined && sample.seq <= last.seq) {
      if (sample.timestamp <= last.timestamp) return;
      samples = []; // the loop restarted
    }
    samples.push(sample);
    if (samples.length > 20000) samples = samples.slice(-10000);
    handle.received++;
    handle.lastSeq = sample.seq;
  }

  // ------------------------------------------------------------ wiring

  function wire(loop: string): void {
    $<HTMLFormElement>("setpoint-form").addEventListener("submit", (e) => {
      e.preventDefault();
      const value = Number($<HTMLInputElement>("setpoint").value);
      if (!Number.isFinite(value)) return say("the setpoint must be a number", true);
      dirty.delete("setpoint");
      void act(`setpoint → ${value}`, api(loop, "/set"), { setpoint: value });
    });
    $("setpoint").addEventListener("input", () => dirty.add("setpoint"));
    $<HTMLFormElement>("params-form").addEventListener("submit", (e) => {
      e.preventDefault();
      let params: Record<string, Param>;
      try {
        params = changedParams();
      } catch (error) {
        return say((error as Error).message, true);
      }
      const keys = Object.keys(params);
      if (keys.length === 0) return say("no parameter changed");
      void act<LoopState>(
        `applied ${keys.map((k) => `${k} = ${String(params[k])}`).join(", ")}`,
        api(loop, "/set"),
        { params },
      ).then((reply) => {
        if (reply === undefined) return;
        for (const key of keys) dirty.delete(key);
        for (const input of Array.from($("params").querySelectorAll("input.dirty")))
          input.classList.remove("dirty");
        state = reply;
        renderState();
      });
    });
    $<HTMLSelectElement>("controller-kind").addEventListener("change", (e) => {
      dirty.add("controller");
      optionsFor((e.target as HTMLSelectElement).value);
    });
    $<HTMLFormElement>("controller-form").addEventListener("submit", (e) => {
      e.preventDefault();
      const kind = $<HTMLSelectElement>("controller-kind").value;
      let options: unknown;
      try {
        options = JSON.parse($<HTMLTextAreaElement>("controller-options").value || "{}");
      } catch (error) {
        return say(`the options are not JSON: ${(error as Error).message}`, true);
      }
      void act(`controller → ${kind}`, api(loop, "/set"), { controller: { kind, options } }).then((reply) => {
        if (reply !== undefined) dirty.delete("controller");
      });
    });
    $("pause").addEventListener("click", () => void act("paused", api(loop, "/set"), { paused: true }));
    $("resume").addEventListener("click", () => void act("resumed", api(loop, "/set"), { paused: false }));
    $("manual-output").addEventListener("input", () => dirty.add("manual"));
    $("manual").addEventListener("click", () => {
      const value = Number($<HTMLInputElement>("manual-output").value);
      if (!Number.isFinite(value)) return say("the manual output must be a number", true);
      dirty.delete("manual");
      void act(`manual at ${value}`, api(loop, "/set"), { manual: value });
    });
    $("auto").addEventListener("click", () => void act("automatic", api(loop, "/set"), { manual: null }));
    $("capacity-halve").addEventListener("click", () => {
      const speed = (baseSpeed ?? 1) / 2;
      void act(`capacity halved (speed ${speed})`, api(loop, "/capacity"), { speed });
    });
    $("capacity-restore").addEventListener("click", () => {
      const speed = baseSpeed ?? 1;
      void act(`capacity restored (speed ${speed})`, api(loop, "/capacity"), { speed });
    });
    $("burst").addEventListener("click", () => {
      const count = Number($<HTMLInputElement>("burst-count").value);
      void act(`burst of ${count} messages pushed`, api(loop, "/burst"), { count });
    });
    $<HTMLFormElement>("step-form").addEventListener("submit", (e) => {
      e.preventDefault();
      const band = Number($<HTMLInputElement>("step-band").value);
      const smoothing = Number($<HTMLInputElement>("step-smoothing").value);
      void act(`steps measured with a ${band} % band, ${smoothing} s moving average`, api(loop, "/step"), {
        settlingThreshold: band / 100,
        smoothing,
      });
    });
    $<HTMLSelectElement>("window").addEventListener("change", (e) => {
      windowSeconds = Number((e.target as HTMLSelectElement).value);
      scheduleDraw();
    });
  }

  function listen(loop: string): void {
    const events = new EventSource(`${api(loop, "/events")}?token=${encodeURIComponent(token)}`);
    const data = (e: Event): unknown => JSON.parse((e as MessageEvent<string>).data);
    events.addEventListener("init", (e) => {
      const init = data(e) as SessionSnapshot;
      samples = [];
      for (const s of init.samples) addSample(s);
      state = init.state;
      step = init.step;
      targets = init.targets;
      baseSpeed = init.baseSpeed;
      measuring = init.stepOptions;
      renderState();
      renderStep();
      renderTargets();
      scheduleDraw();
      say(`watching loop ${loop}`);
    });
    events.addEventListener("sample", (e) => {
      const m = data(e) as { sample: LoopSample; step: StepReport | null };
      addSample(m.sample);
      step = m.step;
      renderStep();
      renderSummary();
      scheduleDraw();
    });
    events.addEventListener("state", (e) => {
      state = data(e) as LoopState;
      renderState();
    });
    events.addEventListener("targets", (e) => {
      const m = data(e) as { targets: DisturbanceTargets; baseSpeed: number | null };
      targets = m.targets;
      baseSpeed = m.baseSpeed;
      renderTargets();
    });
    events.addEventListener("step", (e) => {
      const m = data(e) as { step: StepReport | null; stepOptions: Required<StepOptions> };
      step = m.step;
      measuring = m.stepOptions;
      renderStep();
      scheduleDraw();
    });
    events.addEventListener("problem", (e) => say((data(e) as { message: string }).message, true));
    events.addEventListener("error", () => {
      const pill = $("status");
      pill.textContent = events.readyState === EventSource.CLOSED ? "disconnected" : "reconnecting…";
      pill.className = "pill stopped";
    });
  }

  function showPicker(loops: LoopInfo[], missing: string | null): void {
    $("picker").hidden = false;
    $("main").hidden = true;
    $("status").textContent = "no loop chosen";
    const list = $("loop-list");
    list.innerHTML = loops
      .map(
        (l) =>
          `<li><a href="${escapeText(pageQuery(l.name))}">${escapeText(l.name)}</a> <span class="muted">on node ${escapeText(l.node)} · ${escapeText(l.service)} · ${escapeText(l.topic)}</span></li>`,
      )
      .join("");
    $("picker-note").textContent =
      (missing ? `No loop named ${missing} in this graph. ` : "") +
      (loops.length === 0
        ? "No feedback loop runs in this graph yet; this list updates as loops start."
        : "Pick a loop to tune.");
  }

  function fillLoopSelect(loops: LoopInfo[], loop: string): void {
    const select = $<HTMLSelectElement>("loop-select");
    select.hidden = loops.length < 2;
    select.textContent = "";
    for (const l of loops) {
      const option = document.createElement("option");
      option.value = l.name;
      option.textContent = l.name;
      option.selected = l.name === loop;
      select.append(option);
    }
    select.onchange = () => {
      location.search = pageQuery(select.value);
    };
  }

  async function start(): Promise<void> {
    const asked = new URLSearchParams(location.search).get("loop");
    for (;;) {
      let listing: { loops: LoopInfo[]; selected: string | null };
      try {
        listing = await request<{ loops: LoopInfo[]; selected: string | null }>("api/loops");
      } catch (error) {
        say(`cannot list the loops: ${(error as Error).message}`, true);
        await new Promise((r) => setTimeout(r, 2000));
        continue;
      }
      const names = listing.loops.map((l) => l.name);
      const loop = asked ?? listing.selected ?? (listing.loops.length === 1 ? listing.loops[0]!.name : null);
      if (loop !== null && names.includes(loop)) {
        handle.loop = loop;
        $("loop-name").textContent = loop;
        document.title = `${loop} – zmp tune`;
        $("picker").hidden = true;
        $("main").hidden = false;
        fillLoopSelect(listing.loops, loop);
        wire(loop);
        listen(loop);
        return;
      }
      showPicker(listing.loops, loop);
      await new Promise((r) => setTimeout(r, 2000));
    }
  }

  void start();
}
