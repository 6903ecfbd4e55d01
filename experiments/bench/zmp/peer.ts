/**
 * The far end of a zmp case: a node module the parent starts with
 * `graph.spawn(…, { host: "process" })`. Roles:
 *
 * - `consume`: consumes a queue with a handler that counts (the message is
 *   acknowledged when the handler returns);
 * - `subscribe`: subscribes to a topic and counts in a `for await` loop;
 * - `echo`: provides `bench.echo`, which returns the request.
 *
 * Every role provides `bench.control` (`{ op: "reset" }`, `{ op: "collect", quietMs, expected }`),
 * the parent's handle on the counting (see sink.ts).
 */
import type { Node } from "../../../core/index.js";
import { startProfile } from "../profiler.js";
import { Sink } from "../sink.js";

export interface ZmpPeerArgs {
  role: "consume" | "subscribe" | "echo";
  queue?: string;
  topic?: string;
  /** Credit window of a `consume` role. Default: zmp's default. */
  window?: number;
}

export const CONTROL = "bench.control";
export const ECHO = "bench.echo";

export default async function benchPeer(node: Node, args: ZmpPeerArgs): Promise<() => Promise<void>> {
  const stopProfile = await startProfile(`zmp-${args.role}`);
  const sink = new Sink();
  node.provide<{ op: string; quietMs?: number; expected?: number }, unknown>(CONTROL, (request) => {
    if (request.op === "reset") {
      sink.reset();
      return true;
    }
    if (request.op === "collect") return sink.collect(request.quietMs ?? 50, request.expected);
    throw new Error(`unknown op ${request.op}`);
  });
  switch (args.role) {
    case "consume": {
      const consumer = node.consume(
        args.queue!,
        () => {
          sink.hit();
        },
        args.window !== undefined ? { window: args.window } : {},
      );
      return async () => {
        await consumer.close();
        await stopProfile();
      };
    }
    case "subscribe": {
      const subscription = node.subscribe(args.topic!);
      void (async () => {
        for await (const _ of subscription) sink.hit();
      })();
      return async () => {
        subscription.close();
        await stopProfile();
      };
    }
    case "echo":
      node.provide(ECHO, (request: unknown) => request);
      return stopProfile;
  }
}
