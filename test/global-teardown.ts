/**
 * After the whole run: removes the private temp folders of test processes
 * that were SIGKILLed on a failure path (a timeout) and so could not remove
 * their own. Tests that kill a process on purpose remove its folder
 * themselves (`removeFoldersOf`); this is the net under the rest. Also
 * removes the tests' per-user credential folder (`ZMP_HOME`, made by
 * vitest.config.ts). Silent: the run's closing line must stay the
 * reporter's summary.
 */
import { rmSync } from "node:fs";
import { removeStaleIpcDirs } from "../core/endpoint.js";

export function teardown(): void {
  removeStaleIpcDirs();
  const home = process.env.ZMP_TEST_HOME;
  if (home) rmSync(home, { recursive: true, force: true });
}
