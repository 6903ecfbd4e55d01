/**
 * `npm start`: runs the headline experiment, `delay-step`, on the live
 * graph — producers → queue proxy → a pool of worker processes, an embedded
 * directory, nothing to start by hand. It first picks the best baseline and
 * designs the delay loop's trim on the simulated plant (a few seconds), then
 * runs zmp's delay loop, that baseline and no control for 15 s each as
 * FeedbackLoops on one advertised graph (about a minute in all: `zmp tune
 * --loop delay` in another terminal attaches while it runs), and prints
 * where the report is. Extra arguments go to `zmp experiment run`
 * (`npm start -- --plant sim` for the simulated plant, `--duration 60`,
 * `--seed 7`...).
 */
import { experimentRun } from "./cli.js";

const args = process.argv.slice(2);
const has = (flag: string): boolean => args.some((a) => a === flag || a.startsWith(`${flag}=`));
const defaults = [
  ...(has("--plant") ? [] : ["--plant", "live"]),
  ...(has("--duration") ? [] : ["--duration", "15"]),
];
process.exitCode = await experimentRun(["delay-step", ...defaults, ...args]);
