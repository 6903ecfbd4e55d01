/**
 * After the whole run: removes the private temp folders of test processes
 * that were SIGKILLed on a failure path (a timeout) and so could not remove
 * their own. Tests that kill a process on purpose remove its folder
 * themselves (`removeFoldersOf`); this is the net under the rest. Silent:
 * the run's closing line must stay the reporter's summary.
 */
import { removeStaleIpcDirs } from "../core/endpoint.js";

export function teardown(): void {
  removeStaleIpcDirs();
}
