/**
 * The bench's cases, in the order they run and print. A new case is one
 * module exporting a `BenchCase`, added here; the proxy and cache cases
 * (proxies.ts) get the bench's contenders handed in.
 */

import type { BenchCase } from "../harness.js";
import { rawQueue } from "../raw/contenders.js";
import { zmpQueue, zmpService, zmpTopic } from "../zmp/contenders.js";
import { meteringCase } from "./metering.js";
import { proxyCases } from "./proxies.js";
import { queueCase } from "./queue.js";
import { rttCase, serviceCase } from "./service.js";
import { benchGraph, payload, rawDir } from "./setup.js";
import { topicCase } from "./topic.js";

export const cases: readonly BenchCase[] = [
  queueCase("ipc", 16),
  queueCase("ipc", 256),
  queueCase("tcp", 16),
  queueCase("tcp", 256),
  queueCase("tcp", 16, true),
  topicCase(1),
  topicCase(4),
  serviceCase(1),
  serviceCase(16),
  serviceCase(16, 16, "tcp", true),
  rttCase(),
  meteringCase("queue"),
  meteringCase("topic"),
  meteringCase("service"),
  ...proxyCases({ benchGraph, payload, zmpQueue, zmpService, zmpTopic, rawQueue, rawDir }),
];
