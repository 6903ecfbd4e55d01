/**
 * `npm start`: runs the headline experiment, `backlog-step`, on the live
 * graph — producers → queue proxy → a pool of worker processes, an embedded
 * directory, nothing to start by hand — for 15 s (under a minute in all, with
 * its step test and the run without control), and prints where the report
 * is. Extra arguments go to `zmp experiment run` (`npm start -- --plant sim`
 * for the simulated plant, `--duration 60`, `--seed 7`...).
 */
import { experimentRun } from "./cli.js";

const args = process.argv.slice(2);
const has = (flag: string): boolean => args.some((a) => a === flag || a.startsWith(`${flag}=`));
const defaults = [
  ...(has("--plant") ? [] : ["--plant", "live"]),
  ...(has("--duration") ? [] : ["--duration", "15"]),
];
process.exitCode = await experimentRun(["backlog-step", ...defaults, ...args]);
