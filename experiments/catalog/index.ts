/**
 * The experiment catalog: every experiment `zmp experiment list` shows and
 * `zmp experiment run NAME` runs. Each runs on `--plant sim` now; `--plant
 * live` works for an experiment once a live factory for its plant model is
 * registered (`registerPlant("live", model, factory)`), and an experiment can
 * be replaced wholesale with `registerExperiment` (e.g. a live-only variant).
 */
import type { Experiment } from "../experiment.js";
import { closeLiveGraph } from "../plants/live-graph.js";
import { hasPlant } from "../plants/registry.js";
import { autoscale } from "./autoscale.js";
import { autotune } from "./autotune.js";
import { backlogStep } from "./backlog-step.js";
import { cacheHitRate } from "./cache-hit-rate.js";
import { compareControllers } from "./compare-controllers.js";
import { delayStep } from "./delay-step.js";

const experiments = new Map<string, Experiment>();

/** Adds an experiment to the catalog, or replaces the one with the same name. */
export function registerExperiment(experiment: Experiment): void {
  if (experiment === null || typeof experiment !== "object" || typeof experiment.run !== "function") {
    throw new TypeError(`Expected \`experiment\` to be an Experiment, got \`${String(experiment)}\``);
  }
  const run = experiment.run;
  experiments.set(experiment.name, {
    ...experiment,
    // A live run's plants share one advertised graph (`liveGraph`): it closes with the experiment.
    run: async (context) => {
      try {
        return await run(context);
      } finally {
        if (context.plant === "live") await closeLiveGraph();
      }
    },
  });
}

/** The experiment called `name`; a RangeError lists the names when there is none. */
export function getExperiment(name: string): Experiment {
  const experiment = experiments.get(name);
  if (experiment === undefined) {
    throw new RangeError(
      `Unknown experiment \`${name}\`; expected one of ${[...experiments.keys()].join(", ")}`,
    );
  }
  return experiment;
}

/** All experiments, in catalog order. */
export function listExperiments(): Experiment[] {
  return [...experiments.values()];
}

/** Which plants an experiment can run on now: sim always, live once registered. */
export function plantsOf(experiment: Experiment): { sim: boolean; live: boolean } {
  return { sim: hasPlant("sim", experiment.model), live: hasPlant("live", experiment.model) };
}

for (const experiment of [delayStep, backlogStep, compareControllers, autotune, autoscale, cacheHitRate])
  registerExperiment(experiment);
