/**
 * What metering costs: the same zmp job with meters on (zmp's default) and
 * off (`metering: false` on both nodes), interleaved. The ratio is on/off
 * throughput, so 0.98 means metering costs 2 %; the target is a cost of at
 * most 3 % (ratio ≥ 0.97).
 */
import type { BenchCase, Contender } from "../harness.js";
import { zmpQueue, zmpService, zmpTopic } from "../zmp/contenders.js";
import { benchGraph, payload } from "./setup.js";

type Job = "queue" | "topic" | "service";

const rows: Record<Job, string> = {
  queue: "metering queue ipc 16B",
  topic: "metering topic 1->1 256B",
  service: "metering service c=16 16B",
};

export function meteringCase(job: Job): BenchCase {
  const row = rows[job];
  return {
    name: row,
    description: `zmp with metering on vs off, ${row.slice("metering ".length)}; ratio on/off, cost = 1 − ratio`,
    // A cost of a few percent hides in the noise of a shared machine: more repetitions.
    minReps: 15,
    metrics: [
      {
        row,
        key: "rate",
        unit: job === "service" ? "calls/s" : "msg/s",
        better: "higher",
        cpu: true,
        target: { kind: "ratio", min: 0.97 },
      },
    ],
    async open({ cleanup }) {
      const graph = await benchGraph("ipc", cleanup);
      const make = async (metering: boolean): Promise<Contender> => {
        const options = {
          metering,
          suffix: metering ? "-on" : "-off",
          label: `zmp metering ${metering ? "on" : "off"}`,
        };
        if (job === "queue") return zmpQueue({ graph, cleanup }, payload(16), options);
        if (job === "topic") return zmpTopic({ graph, cleanup }, payload(256), 1, options);
        return (await zmpService({ graph, cleanup }, payload(16), options)).throughput(16);
      };
      const on = await make(true);
      const off = await make(false);
      return { subject: { ...on, sockets: "meters on" }, baselines: [{ ...off, sockets: "meters off" }] };
    },
  };
}
