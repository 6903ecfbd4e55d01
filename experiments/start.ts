/**
 * `npm start`: runs the headline experiment, `backlog-step`, on the simulated
 * plant with its defaults (a few seconds) and prints where the report is.
 * Extra arguments go to `zmp experiment run` (`npm start -- --seed 7`).
 */
import { experimentRun } from "./cli.js";

process.exitCode = await experimentRun(["backlog-step", ...process.argv.slice(2)]);
