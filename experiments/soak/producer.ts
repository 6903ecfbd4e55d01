/**
 * The soak's producer, a hostable node module: once told to start, it pushes
 * `{ id, t }` messages onto the queue at `rate` msg/s, ids `base`, `base + 1`,
 * … (so every message of the run has a unique id and the harness knows the
 * whole set from `base` and the count), `t` the push time (`Date.now()`).
 *
 * It keeps to the schedule however late its timer fires, pushing what is due
 * in one burst (one frame), and respects backpressure: while a push waits for
 * room it offers nothing more, and the messages it falls behind by are
 * counted (`behind`), not dropped silently — the offered count is what it
 * really pushed.
 *
 * `<name>.soak`: `{ op: "start" }` (resolves once this node routes the queue
 * through its proxy front, so no message bypasses admission), `{ op: "stop" }`
 * (stops offering; resolves once every push was accepted), `{ op: "stats" }`;
 * each replies with a {@link SoakProducerStats}.
 */
import type { Node } from "../../core/index.js";
import { checkName } from "../../core/record.js";
import { checkOptions, fail, positive, positiveInteger } from "../../toolbox/control/validate.js";
import { serveSoak } from "./service.js";

/** Arguments of the soak producer (plain data). */
export interface SoakProducerArgs {
  /** Queue to push onto. Required. */
  queue: string;
  /** First id; the n-th message offered has id `base + n`. Required. */
  base: number;
  /** Messages per second. Required. */
  rate: number;
  /** Timer period, ms. Default 5. */
  tickMs?: number;
  /** Longest wait in `start` for the proxy's front to be known here, ms. Default 10 000. */
  frontTimeoutMs?: number;
}

/** What `<name>.soak` replies. */
export interface SoakProducerStats {
  base: number;
  /** Messages pushed (accepted by the queue, or waiting for room): ids `base` … `base + offered − 1`. */
  offered: number;
  /** Messages the schedule asked for and backpressure held back. */
  behind: number;
  /** Pushes that failed (never expected). */
  errors: number;
  running: boolean;
  /** When read, ms since the epoch. */
  time: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export default function soakProducer(node: Node, args: SoakProducerArgs): () => Promise<void> {
  const o = checkOptions(args, ["queue", "base", "rate", "tickMs", "frontTimeoutMs"], "soak producer args");
  const queue = checkName(o.queue, "queue");
  if (!Number.isSafeInteger(o.base) || o.base < 0) fail("base", "a non-negative safe integer", o.base);
  const base = o.base;
  const rate = positive("rate", o.rate, 1);
  const tickMs = positive("tickMs", o.tickMs, 5);
  const frontTimeoutMs = positiveInteger("frontTimeoutMs", o.frontTimeoutMs, 10_000);
  const maxBurst = Math.max(16, Math.ceil(((rate * tickMs) / 1000) * 8));
  let offered = 0;
  let errors = 0;
  /** How far behind the schedule the producer was when it stopped. */
  let behindAtStop = 0;
  let running = false;
  let started = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  /** The last push of a burst, while it waits for room (pushes are accepted in order). */
  let waiting: Promise<void> | undefined;

  const onError = (error: unknown): void => {
    errors++;
    if (errors <= 3) process.stderr.write(`soak producer ${node.name}: push failed: ${String(error)}\n`);
  };

  const due = (): number => Math.floor(((performance.now() - started) / 1000) * rate);

  const tick = (): void => {
    timer = undefined;
    if (!running) return;
    if (waiting === undefined) {
      // Catching up after a wait goes at most `maxBurst` at a time (a bounded frame, bounded memory).
      const target = Math.min(due(), offered + maxBurst);
      if (offered < target) {
        const t = Date.now();
        let last: Promise<void> | undefined;
        for (; offered < target; offered++) last = node.push(queue, { id: base + offered, t });
        const burst = last!.then(
          () => {
            if (waiting === burst) waiting = undefined;
          },
          (error: unknown) => {
            if (waiting === burst) waiting = undefined;
            onError(error);
          },
        );
        waiting = burst;
      }
    }
    timer = setTimeout(tick, tickMs);
  };

  const routed = (): boolean =>
    node
      .nodes()
      .some((n) => n.id !== node.id && n.fronts.some((f) => f.kind === "queue" && f.name === queue));

  const stats = (): SoakProducerStats => ({
    base,
    offered,
    behind: running ? Math.max(0, due() - offered) : behindAtStop,
    errors,
    running,
    time: Date.now(),
  });

  const stop = async (): Promise<void> => {
    if (running) behindAtStop = Math.max(0, due() - offered);
    running = false;
    clearTimeout(timer);
    timer = undefined;
    while (waiting !== undefined) await waiting;
  };

  serveSoak(node, {
    start: async () => {
      if (running) return stats();
      const deadline = Date.now() + frontTimeoutMs;
      while (!routed()) {
        if (Date.now() > deadline) throw new Error(`no proxy fronts \`${queue}\` after ${frontTimeoutMs} ms`);
        await sleep(10);
      }
      running = true;
      started = performance.now() - (offered / rate) * 1000;
      tick();
      return stats();
    },
    stop: async () => {
      await stop();
      return stats();
    },
    stats: () => stats(),
  });

  return stop;
}
