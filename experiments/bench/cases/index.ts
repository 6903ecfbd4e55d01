/**
 * The bench's cases, in the order they run and print. A new case (the proxy
 * and cache of issue 5) is one module exporting a `BenchCase`, added here.
 */
import type { BenchCase } from "../harness.js";
import { meteringCase } from "./metering.js";
import { queueCase } from "./queue.js";
import { rttCase, serviceCase } from "./service.js";
import { topicCase } from "./topic.js";

export const cases: readonly BenchCase[] = [
  queueCase("ipc", 16),
  queueCase("ipc", 256),
  queueCase("tcp", 16),
  queueCase("tcp", 256),
  topicCase(1),
  topicCase(4),
  serviceCase(1),
  serviceCase(16),
  rttCase(),
  meteringCase("queue"),
  meteringCase("topic"),
  meteringCase("service"),
];
