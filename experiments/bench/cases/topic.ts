/**
 * Topic throughput: the parent publishes 256 messages per event-loop turn for
 * the whole repetition; each subscriber, in its own process, counts what it
 * receives (drops at the high-water marks are not counted). Deliveries per
 * second summed over the subscribers. pyzmq and native C publish without
 * pause from their own process (their natural form: no event loop to yield to).
 */
import type { BenchCase } from "../harness.js";
import { nativeTopic, openReferences } from "../native/contenders.js";
import { rawTopic } from "../raw/contenders.js";
import { zmpTopic } from "../zmp/contenders.js";
import { benchGraph, payload, rawDir } from "./setup.js";

export function topicCase(subscribers: number, size = 256): BenchCase {
  const row = `topic 1->${subscribers} ${size}B`;
  return {
    name: row,
    description: `publish → received messages/s summed over ${subscribers} subscriber process(es), ${size} B Buffers over ipc; raw, pyzmq and C: PUB/SUB`,
    metrics: [
      {
        row,
        key: "rate",
        unit: "msg/s",
        better: "higher",
        cpu: true,
        target: { kind: "ratio", min: 4 },
        references: { pyzmq: 2.5 },
      },
    ],
    async open(context) {
      const { cleanup } = context;
      const message = payload(size);
      const graph = await benchGraph("ipc", cleanup);
      const dir = rawDir(cleanup);
      const subject = await zmpTopic({ graph, cleanup }, message, subscribers);
      const raw = await rawTopic("ipc", dir, message, subscribers, cleanup);
      const references = await openReferences(context, (kind) =>
        nativeTopic(kind, dir, size, subscribers, cleanup),
      );
      return { subject, baselines: [raw], references };
    },
  };
}
