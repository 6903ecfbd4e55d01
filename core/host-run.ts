/**
 * The part of hosting shared by all host kinds: import a node module, start
 * its node, run its init function, wait until the directory has its services.
 *
 * A node module's default export (or the export named in `exportName`) is an
 * init function `(node, args) => void | teardown | Promise<...>`; a returned
 * function runs when the node stops.
 */
import type { ErrorData } from "./errors.js";
import { Node } from "./node.js";
import type { NodeOptions } from "./node-options.js";
import type { HostKind } from "./record.js";

/** A node module's init function. */
export type NodeInit<Args = unknown> = (node: Node, args: Args) => InitResult | Promise<InitResult>;

/** What an init function may return: nothing, or a teardown to run at stop. */
// biome-ignore lint/suspicious/noConfusingVoidType: lets `(node) => { node.provide(...) }` be an init function.
export type InitResult = Teardown | undefined | void;

/** Runs when a hosted node stops (close files, clear timers). */
export type Teardown = () => void | Promise<void>;

/** What a host needs to start a node; plain data (it crosses to threads and processes). */
export interface HostConfig {
  /** URL of the node module (file:// or a package specifier). */
  module: string;
  /** Export holding the init function. Default `"default"`. */
  exportName?: string;
  host: HostKind;
  /** Plain data handed to the init function. */
  args?: unknown;
  /** Options of the hosted node (name, directory, transport...). */
  node: NodeOptions;
}

/** Messages a host sends its parent. */
export type HostMessage =
  | { type: "ready"; id: string; endpoint: string; pid: number }
  | { type: "failed"; error: ErrorData }
  | { type: "stopped" };

export interface RunningNode {
  node: Node;
  /** Runs the teardown, then stops the node. Safe to call twice. */
  stop: () => Promise<void>;
}

/** Imports, starts and initializes a node; rejects (with nothing left running) if any step fails. */
export async function runHostedNode(config: HostConfig, init?: NodeInit): Promise<RunningNode> {
  let fn = init;
  if (fn === undefined) {
    const mod = (await import(config.module)) as Record<string, unknown>;
    const name = config.exportName ?? "default";
    const exported = mod[name];
    if (typeof exported !== "function") {
      throw new TypeError(
        `Expected module ${config.module} to export an init function as \`${name}\`, got ${typeof exported}`,
      );
    }
    fn = exported as NodeInit;
  }
  const node = new Node({ ...config.node, host: config.host });
  await node.start();
  let teardown: InitResult;
  try {
    teardown = await fn(node, config.args);
    await node.synced();
  } catch (error) {
    await node.stop();
    throw error;
  }
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      try {
        if (typeof teardown === "function") await teardown();
      } finally {
        await node.stop();
      }
    })();
    return stopping;
  };
  return { node, stop };
}
