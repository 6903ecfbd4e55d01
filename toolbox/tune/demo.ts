/**
 * A small live graph to tune (`zmp tune --demo`, and the tuning page's
 * test): a load generator (toolbox/nodes/load.ts) pushing onto the queue
 * `jobs` → a queue proxy fronting it (admission by its token bucket) → queue
 * workers (toolbox/nodes/queue-worker.ts) — and a `FeedbackLoop` named
 * `backlog` holding the proxy's backlog at its setpoint by the proxy's
 * admission rate, a PID with the measured service rate as feedforward.
 *
 * With the defaults the load (150 msg/s) is above the capacity (2 × 50
 * msg/s), so without the loop the backlog grows by 50 messages a second.
 */
import { Graph, type HostedNode, type Node } from "../../core/index.js";
import type { ControllerSpec } from "../control/controller-registry.js";
import { remoteAdmissionActuator } from "../loop/admission.js";
import { FeedbackLoop } from "../loop/feedback-loop.js";
import { queueProxySensor } from "../loop/queue-sensor.js";
import { QueueProxy } from "../proxy/queue-proxy.js";

/** Options of `startTuneDemo`. */
export interface TuneDemoOptions {
  /** Queue workers. Default 2. */
  workers?: number;
  /** Messages per second each worker handles at speed 1. Default 50. */
  workerRate?: number;
  /** Messages per second the load generator offers. Default 150. */
  load?: number;
  /** Where the workers run. Default `"process"`. */
  host?: "inline" | "thread" | "process";
  /** The loop's setpoint, messages. Default 40. */
  setpoint?: number;
  /** The loop's sample period, seconds. Default 0.1. */
  sampleTime?: number;
  /** The loop's controller. Default a PID: kp 2, ki 1, output ≥ 0, service-rate feedforward. */
  controller?: ControllerSpec;
  /** Join this directory instead of starting one. Default: start one. */
  directory?: string;
  /** Let `zmp` commands in other terminals find the graph. Default true. */
  advertise?: boolean;
}

/** A running demo graph. */
export interface TuneDemo {
  graph: Graph;
  /** The loop's name, `backlog`. */
  loop: string;
  /** The queue, `jobs`. */
  queue: string;
  /** Worker node names. */
  workers: string[];
  /** A node of the graph for other uses (the tuning server's). */
  node: Node;
  /** Stops the loop, the load, the proxy and the workers, and the graph. Twice is a no-op. */
  close(): Promise<void>;
}

const LOOP = "backlog";
const QUEUE = "jobs";
const fromSource = import.meta.url.endsWith(".ts");
const moduleUrl = (name: string): URL =>
  new URL(`../nodes/${name}.${fromSource ? "ts" : "js"}`, import.meta.url);

/** Starts the demo graph (see the module comment); resolves when the loop samples. */
export async function startTuneDemo(options: TuneDemoOptions = {}): Promise<TuneDemo> {
  const workers = options.workers ?? 2;
  if (!(Number.isInteger(workers) && workers >= 1 && workers <= 16))
    throw new RangeError(`Expected \`workers\` to be an integer from 1 to 16, got \`${String(workers)}\``);
  const graph = await Graph.open({
    heartbeatMs: 500,
    nodeDefaults: { drainTimeoutMs: 1000 },
    ...(options.directory === undefined ? {} : { directory: options.directory }),
    ...(options.advertise === undefined ? {} : { advertise: options.advertise }),
  });
  let loop: FeedbackLoop | undefined;
  let proxy: QueueProxy | undefined;
  let load: HostedNode | undefined;
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await loop?.stop();
    await load?.stop().catch(() => undefined);
    await proxy?.close().catch(() => undefined);
    await graph.close();
  };
  try {
    const names = Array.from({ length: workers }, (_, k) => `worker-${k + 1}`);
    await Promise.all(
      names.map((name, k) =>
        graph.spawn(moduleUrl("queue-worker"), {
          name,
          host: options.host ?? "process",
          args: { queue: QUEUE, rate: options.workerRate ?? 50, seed: k + 1 },
        }),
      ),
    );
    proxy = await QueueProxy.start(await graph.node("proxy"), { queue: QUEUE });
    load = await graph.spawn(moduleUrl("load"), {
      name: "load",
      host: "inline",
      args: { queue: QUEUE, rate: options.load ?? 150 },
    });
    const control = await graph.node(LOOP);
    loop = new FeedbackLoop(control, {
      name: LOOP,
      sensor: queueProxySensor(control, { proxy: "proxy", queue: QUEUE }),
      actuator: remoteAdmissionActuator(control, { nodes: ["proxy"], target: `queue:${QUEUE}` }),
      controller: options.controller ?? {
        kind: "pid",
        options: { kp: 2, ki: 1, outputMin: 0, feedforwardSignal: "serviceRate" },
      },
      setpoint: options.setpoint ?? 40,
      sampleTime: options.sampleTime ?? 0.1,
    });
    await loop.start();
    return { graph, loop: LOOP, queue: QUEUE, workers: names, node: await graph.node("tune"), close };
  } catch (error) {
    await close();
    throw error;
  }
}
