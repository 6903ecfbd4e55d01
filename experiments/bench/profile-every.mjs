/**
 * Profiles every Node process that loads it, including the nodes a graph
 * spawns (a proxy's own process, which `profile.ts` does not reach): load it
 * through NODE_OPTIONS, which children inherit, and name a folder.
 *
 *   ZMP_PROFILE_ALL=out/prof NODE_OPTIONS="--import ./experiments/bench/profile-every.mjs" \
 *     npx tsx experiments/bench/profile.ts "queue proxy 16B" zmp 5
 *
 * Each process writes `<script>-<pid>.cpuprofile` when it exits; one that
 * dies of a signal writes nothing (the hook adds no signal handler, so it
 * does not change how a node shuts down). The inspector's
 * same-thread session answers synchronously, so the profile is written from
 * the `exit` handler.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector";
import { basename, join } from "node:path";

const dir = process.env.ZMP_PROFILE_ALL;
if (dir) {
  const session = new Session();
  session.connect();
  session.post("Profiler.enable");
  session.post("Profiler.setSamplingInterval", { interval: 200 });
  session.post("Profiler.start");
  let written = false;
  const write = () => {
    if (written) return;
    written = true;
    session.post("Profiler.stop", (error, result) => {
      if (error) return;
      mkdirSync(dir, { recursive: true });
      const name = basename(process.argv[1] ?? "node");
      writeFileSync(join(dir, `${name}-${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
  };
  process.on("exit", write);
}
