import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defineConfig } from "vitest/config";

// The tests' per-user credential (tcp graphs take it by default): a private temp folder,
// made here (0700) and removed by the global teardown, never the real ~/.config/zmp. Named
// like a process's private folder (zmp-<pid>-XXXXXX), so after a SIGKILLed run the next
// run's teardown (or any Graph.open) removes it with its key.
process.env.ZMP_TEST_HOME ??= mkdtempSync(join(tmpdir(), `zmp-${process.pid}-`));
const home = process.env.ZMP_TEST_HOME;

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    reporters: ["default", "./test/reporter.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Two cores: integration files start processes and sockets, keep the pool small.
    pool: "forks",
    maxWorkers: 2,
    teardownTimeout: 10_000,
    // Removes temp folders of test processes killed on a failure path.
    globalSetup: ["./test/global-teardown.ts"],
    // Graphs opened by tests do not write the per-user discovery file.
    env: { ZMP_NO_ADVERTISE: "1", ZMP_HOME: home },
  },
});
