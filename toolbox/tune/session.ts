/**
 * One loop as the tuning server watches it: a window of its samples (the
 * log's tail, then the topic `loop/<name>/samples`), its state (read again
 * whenever a sample carries a new `revision`), the latest step measured from
 * the window, and what the page can disturb. Every page watching the loop
 * gets an `init` event with all of it, then `sample`, `state`, `targets` and
 * `problem` events as they happen.
 *
 * Attach order: subscribe first, then read the state and the log's tail, then
 * add the samples that arrived meanwhile (by `seq`), so no sample is lost or
 * doubled. A loop that restarts (its `seq` starts again at 1) empties the
 * window.
 */
import { type Node, type Subscription, UnknownServiceError } from "../../core/index.js";
import type { LoopChanges, LoopLog, LoopSample, LoopState } from "../loop/feedback-loop.js";
import { callControl } from "../steering.js";
import { type DisturbanceTargets, findTargets, pushBurst, setWorkerSpeed } from "./disturbances.js";
import { queueOfSensor } from "./loops.js";
import { type CapacityStep, latestStep, type StepOptions, type StepReport, stepOptions } from "./steps.js";

/** Sends one event to one page. */
export type SessionClient = (event: string, data: unknown) => void;

/** Options of a loop session. */
export interface LoopSessionOptions {
  /** Samples kept (and sent to a page when it connects). */
  history: number;
  /** Longest wait for the loop's and the workers' services, ms. */
  timeoutMs: number;
  /** The queue the disturbances act on; undefined: the one the loop's sensor names. */
  queue: string | undefined;
}

/** What a page gets when it connects. */
export interface SessionSnapshot {
  loop: string;
  state: LoopState;
  samples: LoopSample[];
  step: StepReport | null;
  targets: DisturbanceTargets;
  /** The workers' speed when the server first saw them (what "restore" goes back to), or null. */
  baseSpeed: number | null;
  /** How steps are measured. */
  stepOptions: Required<StepOptions>;
}

/** A request the page made that cannot be done (HTTP 409). */
export class ConflictError extends Error {
  override readonly name = "ConflictError";
}

/** Seconds between looks for workers and producers (and at the loop, when it went quiet) while a page watches. */
const PROBE_MS = 5000;

/** One watched loop (see the module comment). Open it with `LoopSession.open`. */
export class LoopSession {
  readonly name: string;
  readonly #node: Node;
  readonly #options: LoopSessionOptions;
  readonly #subscription: Subscription<LoopSample>;
  readonly #clients = new Set<SessionClient>();
  #samples: LoopSample[] = [];
  /** Samples that arrived before the log's tail was read. */
  #pending: LoopSample[] | undefined = [];
  #state: LoopState;
  #step: StepReport | null = null;
  #capacitySteps: CapacityStep[] = [];
  #stepOptions: Required<StepOptions> = stepOptions();
  #targets: DisturbanceTargets = { queue: null, workers: [], producers: [] };
  #baseSpeed: number | null = null;
  #refreshing: Promise<void> | undefined;
  #probing: Promise<void> | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #lastSampleAt = Date.now();
  #closed = false;

  private constructor(node: Node, name: string, options: LoopSessionOptions, state: LoopState) {
    this.#node = node;
    this.name = name;
    this.#options = options;
    this.#state = state;
    this.#subscription = node.subscribe<LoopSample>(state.topic);
  }

  /** Attaches to the loop `name`: its state, its log's tail and its topic. Rejects when the loop does not answer. */
  static async open(node: Node, name: string, options: LoopSessionOptions): Promise<LoopSession> {
    const state = await callControl<LoopState>(node, name, { op: "stats" }, options.timeoutMs);
    const session = new LoopSession(node, name, options, state);
    try {
      void session.#read();
      await session.#prime();
      await session.refreshTargets();
    } catch (error) {
      session.close();
      throw error;
    }
    return session;
  }

  get state(): LoopState {
    return this.#state;
  }

  /** The samples in the window, oldest first. */
  get samples(): readonly LoopSample[] {
    return this.#samples;
  }

  get step(): StepReport | null {
    return this.#step;
  }

  get targets(): DisturbanceTargets {
    return this.#targets;
  }

  /** Everything a page starts from. */
  snapshot(): SessionSnapshot {
    return {
      loop: this.name,
      state: this.#state,
      samples: this.#samples,
      step: this.#step,
      targets: this.#targets,
      baseSpeed: this.#baseSpeed,
      stepOptions: this.#stepOptions,
    };
  }

  /** Adds a page: it gets `init` now, then every event. Returns the function that removes it. */
  attach(client: SessionClient): () => void {
    this.#clients.add(client);
    client("init", this.snapshot());
    this.#timer ??= setInterval(() => this.#tick(), PROBE_MS);
    return () => {
      this.#clients.delete(client);
      if (this.#clients.size === 0) {
        clearInterval(this.#timer);
        this.#timer = undefined;
      }
    };
  }

  /** Changes the loop over its service (`op: "set"`) and tells every page the new state. */
  async set(changes: LoopChanges): Promise<LoopState> {
    const state = await callControl<LoopState>(
      this.#node,
      this.name,
      { ...changes, op: "set" },
      this.#options.timeoutMs,
    );
    this.#setState(state);
    return state;
  }

  /** Changes how steps are measured (for every page of this loop) and measures the latest again. */
  setStepOptions(options: StepOptions): Required<StepOptions> {
    if (options === null || typeof options !== "object") throw new TypeError("Expected step options");
    const unknown = Object.keys(options).filter((k) => k !== "settlingThreshold" && k !== "smoothing");
    if (unknown.length > 0) throw new RangeError(`Unknown step option \`${unknown[0]}\``);
    this.#stepOptions = stepOptions({ ...this.#stepOptions, ...options });
    this.#measure();
    this.#broadcast("step", { step: this.#step, stepOptions: this.#stepOptions });
    return this.#stepOptions;
  }

  /** Reads the loop's state again (a sample showed a new revision, or the loop went quiet). */
  refreshState(): Promise<void> {
    this.#refreshing ??= callControl<LoopState>(
      this.#node,
      this.name,
      { op: "stats" },
      this.#options.timeoutMs,
    )
      .then(
        (state) => this.#setState(state),
        (error: unknown) => this.#problem(error),
      )
      .finally(() => {
        this.#refreshing = undefined;
      });
    return this.#refreshing;
  }

  /** Looks for the workers and producers of the loop's queue again, and tells the pages. */
  refreshTargets(): Promise<void> {
    this.#probing ??= findTargets(
      this.#node,
      this.#options.queue ?? queueOfSensor(this.#state.sensor),
      this.#options.timeoutMs,
    )
      .then((targets) => {
        this.#targets = targets;
        if (this.#baseSpeed === null && targets.workers.length > 0)
          this.#baseSpeed = Math.max(...targets.workers.map((w) => w.speed));
        this.#broadcast("targets", { targets, baseSpeed: this.#baseSpeed });
      })
      .finally(() => {
        this.#probing = undefined;
      });
    return this.#probing;
  }

  /**
   * A capacity step: sets every worker's speed to `speed` and remembers the
   * step for `stepInfo`. Throws a `ConflictError` when the loop's queue has
   * no workers.
   */
  async capacity(speed: number): Promise<DisturbanceTargets> {
    if (!(typeof speed === "number" && speed > 0 && Number.isFinite(speed)))
      throw new RangeError(`Expected \`speed\` to be a positive number, got \`${String(speed)}\``);
    const workers = this.#targets.workers;
    if (workers.length === 0)
      throw new ConflictError(`no queue worker found for queue \`${String(this.#targets.queue)}\``);
    const from = workers[0]!.speed;
    const timestamp = Date.now();
    const set = await setWorkerSpeed(
      this.#node,
      workers.map((w) => w.name),
      speed,
      this.#options.timeoutMs,
    );
    if (set.length === 0) throw new ConflictError("no worker answered");
    if (from !== speed) {
      this.#capacitySteps.push({ timestamp, from, to: speed });
      if (this.#capacitySteps.length > 100) this.#capacitySteps.shift();
    }
    this.#targets = { ...this.#targets, workers: set };
    this.#broadcast("targets", { targets: this.#targets, baseSpeed: this.#baseSpeed });
    return this.#targets;
  }

  /** A burst of `count` messages onto the loop's queue. Throws a `ConflictError` when no load generator feeds it. */
  async burst(count: number): Promise<void> {
    if (!(Number.isInteger(count) && count >= 1 && count <= 100_000))
      throw new RangeError(`Expected \`count\` to be an integer from 1 to 100000, got \`${String(count)}\``);
    const { queue, producers } = this.#targets;
    if (queue === null || producers.length === 0)
      throw new ConflictError(`no load generator feeds queue \`${String(queue)}\`: no burst`);
    await pushBurst(this.#node, queue, count);
  }

  /** Stops watching: the subscription ends, every page is dropped. Twice is a no-op. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#clients.clear();
    this.#subscription.close();
  }

  async #prime(): Promise<void> {
    const history = this.#options.history;
    const since = Math.max(0, this.#state.samples - history);
    const log = await callControl<LoopLog>(
      this.#node,
      this.name,
      { op: "log", since, limit: history },
      this.#options.timeoutMs,
    );
    const pending = this.#pending ?? [];
    this.#pending = undefined;
    this.#samples = log.samples.slice(-history);
    for (const sample of pending) this.#add(sample);
    this.#measure();
  }

  async #read(): Promise<void> {
    for await (const { data } of this.#subscription) {
      if (this.#pending !== undefined) this.#pending.push(data);
      else this.#onSample(data);
    }
  }

  /** Adds a sample to the window; false when it was already there. */
  #add(sample: LoopSample): boolean {
    const last = this.#samples.at(-1);
    if (last !== undefined && sample.seq <= last.seq) {
      // The loop restarted: its seq begins again and its clock moved on.
      if (sample.timestamp <= last.timestamp) return false;
      this.#samples = [];
      this.#capacitySteps = [];
    }
    this.#samples.push(sample);
    // Trim in batches, not one shift per sample.
    const history = this.#options.history;
    if (this.#samples.length > history + Math.max(16, history >> 3))
      this.#samples = this.#samples.slice(-history);
    return true;
  }

  #onSample(sample: LoopSample): void {
    this.#lastSampleAt = Date.now();
    if (!this.#add(sample)) return;
    if (sample.revision !== this.#state.revision) void this.refreshState();
    this.#measure();
    this.#broadcast("sample", { sample, step: this.#step });
  }

  #measure(): void {
    this.#step = latestStep(this.#samples, this.#capacitySteps, this.#stepOptions);
  }

  #setState(state: LoopState): void {
    // Replies can cross: keep the newest.
    if (state.time < this.#state.time) return;
    this.#state = state;
    this.#broadcast("state", state);
  }

  #tick(): void {
    void this.refreshTargets().catch(() => undefined);
    if (Date.now() - this.#lastSampleAt > Math.max(2000, 3000 * this.#state.sampleTime))
      void this.refreshState();
  }

  #problem(error: unknown): void {
    const message =
      error instanceof UnknownServiceError
        ? `loop \`${this.name}\` is gone (no service ${this.#state.service})`
        : `cannot read loop \`${this.name}\`: ${(error as Error).message}`;
    this.#broadcast("problem", { message });
  }

  #broadcast(event: string, data: unknown): void {
    for (const client of this.#clients) client(event, data);
  }
}
