/**
 * Runs inside a worker thread or a child process that hosts one node: imports
 * the node's module, starts the node, runs the module's init function, waits
 * until the directory lists its services, then tells the parent it is ready.
 * A failure at any step is sent to the parent as plain error data, and the
 * host exits. A child process also exits when its parent goes away (the IPC
 * channel closes), so it never outlives the graph that started it.
 */
import { parentPort, workerData } from "node:worker_threads";
import { errorToData } from "./errors.js";
import { type HostConfig, type HostMessage, runHostedNode } from "./host-run.js";
import { closeAllSockets, closeAllSocketsSoon } from "./sockets.js";

type Channel = { send(message: HostMessage): void; onStop(listener: () => void): void };

async function main(): Promise<void> {
  if (parentPort !== null) {
    const port = parentPort;
    guardThreadExit(port);
    const channel: Channel = {
      send: (message) => port.postMessage(message),
      onStop: (listener) => port.on("message", (m: { type?: string }) => m?.type === "stop" && listener()),
    };
    // Let the thread end on its own once the node has closed its sockets: process.exit()
    // inside a worker tears zeromq down mid-flight.
    await host(
      workerData as HostConfig,
      channel,
      () => port.close(),
      () => port.close(),
    );
    return;
  }
  if (typeof process.send !== "function") {
    process.stderr.write("zmp host entry: started without an IPC channel or worker port\n");
    process.exit(2);
  }
  const config = await new Promise<HostConfig>((resolve) =>
    process.once("message", (m: { type?: string; config?: HostConfig }) => {
      if (m?.type === "config" && m.config) resolve(m.config);
    }),
  );
  const channel: Channel = {
    send: (message) => process.send?.(message),
    onStop: (listener) => process.on("message", (m: { type?: string }) => m?.type === "stop" && listener()),
  };
  // The parent is gone (even SIGKILLed): its end of the IPC channel closed. Stop and exit.
  process.on("disconnect", () => {
    const timer = setTimeout(() => process.exit(0), 2000);
    timer.unref();
    void stopNode?.().finally(() => process.exit(0));
  });
  await host(
    config,
    channel,
    () => {
      process.disconnect?.();
      process.exit(0);
    },
    // Let the failure message reach the parent before the exit closes the channel.
    () => setTimeout(() => process.exit(1), 50),
  );
}

let stopNode: (() => Promise<void>) | undefined;

/**
 * A worker thread must close its ZeroMQ sockets before it ends, or the whole
 * process aborts (zeromq.js #411). So in a thread host, `process.exit()`, an
 * uncaught error and the parent's "kill" all close every socket first.
 */
function guardThreadExit(port: NonNullable<typeof parentPort>): void {
  const exit = process.exit.bind(process);
  const hardExit = (code: number): never => {
    closeAllSockets();
    return exit(code);
  };
  process.exit = ((code?: number | string | null) =>
    hardExit(Number(code ?? process.exitCode ?? 0))) as typeof process.exit;
  // Crashes and kills can take a moment: close the sockets first so peers see the
  // connections drop at once, then exit (process.exit above must stay synchronous).
  const softExit = (code: number): void => {
    void closeAllSocketsSoon().finally(() => exit(code));
  };
  const crash = (error: unknown): void => {
    process.stderr.write(
      `zmp thread host: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    softExit(1);
  };
  process.on("uncaughtException", crash);
  process.on("unhandledRejection", crash);
  port.on("message", (m: { type?: string }) => {
    if (m?.type === "kill") softExit(137);
  });
}

async function host(config: HostConfig, channel: Channel, exit: () => void, fail: () => void): Promise<void> {
  let stopping = false;
  channel.onStop(() => {
    if (stopping) return;
    stopping = true;
    void (stopNode?.() ?? Promise.resolve()).finally(() => {
      channel.send({ type: "stopped" });
      exit();
    });
  });
  try {
    const running = await runHostedNode(config);
    stopNode = running.stop;
    channel.send({ type: "ready", id: running.node.id, endpoint: running.node.endpoint, pid: process.pid });
  } catch (error) {
    channel.send({ type: "failed", error: errorToData(error) });
    fail();
  }
}

void main();
