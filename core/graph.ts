/**
 * A graph: a directory plus the nodes started from one place. `Graph.open()`
 * starts an embedded directory (ipc, private temp folder) unless given the
 * endpoint of a running one; `node()` starts inline nodes, `spawn()` hosts a
 * node module inline, in a worker thread or in a child process; `close()`
 * stops every node it started, then the embedded directory.
 */
import { randomBytes } from "node:crypto";
import { pathToFileURL } from "node:url";
import { Directory } from "./directory.js";
import { forgetDirectory, rememberDirectory } from "./discovery.js";
import {
  checkEndpoint,
  makeIpcDir,
  removeIpcDir,
  removeStaleIpcDirs,
  type Transport,
  transportOf,
} from "./endpoint.js";
import { ClosedError } from "./errors.js";
import { HostedNode } from "./host.js";
import type { NodeInit } from "./host-run.js";
import { Node } from "./node.js";
import type { InternalOptions, NodeOptions } from "./node-options.js";
import { checkName, type HostKind, type NodeRecord } from "./record.js";
import type { SecurityOptions } from "./security.js";

export interface GraphOptions {
  /** Endpoint of a running directory to join. Default: start an embedded one. */
  directory?: string;
  /** Transport for the nodes this graph starts. Default `"ipc"` (`"tcp"` when joining a tcp directory). */
  transport?: Transport;
  /** Heartbeat interval of the embedded directory, ms. Default 1 000. */
  heartbeatMs?: number;
  /** Heartbeats per second the embedded directory takes before it lengthens the interval (see docs/nodes-and-channels.md). Default 400. */
  maxHeartbeatsPerSecond?: number;
  /** Endpoints the embedded directory binds (e.g. `tcp://0.0.0.0:5555`). Default: ipc in a private temp folder. */
  bind?: string | string[];
  /** Options every node of this graph starts with (name and directory excepted). */
  nodeDefaults?: Partial<Omit<NodeOptions, "name" | "directory">>;
  /**
   * Record the embedded directory's endpoint so `zmp` CLI commands in another
   * terminal find this graph without `--directory`. Default true.
   */
  advertise?: boolean;
  /**
   * CurveZMQ for the whole graph: one key pair for the embedded directory and
   * the nodes this graph starts, and the public keys allowed to connect (add
   * the keys of nodes joining from elsewhere). When joining a running
   * directory, also its public key as `directoryKey`.
   */
  security?: SecurityOptions;
  /**
   * A graph on tcp without a credential (see docs/security.md): `true` on
   * loopback only, `"network"` on any interface. Default false: a tcp graph
   * takes the per-user credential (`~/.config/zmp/user-key.json`).
   */
  insecure?: boolean | "network";
}

export interface SpawnOptions<Args = unknown> {
  /** Name of the node, unique among live nodes. */
  name: string;
  /** Where the node runs. Default `"process"`. */
  host?: Exclude<HostKind, "remote">;
  /** Plain data handed to the module's init function. */
  args?: Args;
  /** Export of the module holding the init function. Default `"default"`. */
  exportName?: string;
  /** Longest wait for the node to be ready, ms. Default 20 000 (TypeScript modules compile at first load). */
  startTimeoutMs?: number;
  /** Longest graceful stop before the host is killed, ms. Default 5 000. */
  stopTimeoutMs?: number;
  /** Extra node options (transport, limits...). */
  node?: Partial<Omit<NodeOptions, "name" | "directory">>;
}

export class Graph {
  readonly #directory: Directory | undefined;
  readonly #endpoint: string;
  readonly #transport: Transport;
  readonly #ipcDir: string | undefined;
  readonly #defaults: GraphOptions["nodeDefaults"];
  readonly #hosted = new Set<HostedNode>();
  readonly #inline = new Set<Node>();
  readonly #advertised: boolean;
  #control: Node | undefined;
  #closed = false;

  private constructor(
    directory: Directory | undefined,
    endpoint: string,
    options: GraphOptions,
    ipcDir: string | undefined,
  ) {
    this.#directory = directory;
    this.#endpoint = endpoint;
    this.#transport = options.transport ?? (transportOf(endpoint) === "tcp" ? "tcp" : "ipc");
    this.#ipcDir = ipcDir;
    const security = options.security;
    this.#defaults = security
      ? {
          ...options.nodeDefaults,
          security: { ...security, directoryKey: security.directoryKey ?? security.publicKey },
        }
      : options.insecure
        ? { ...options.nodeDefaults, insecure: options.insecure }
        : options.nodeDefaults;
    this.#advertised = directory !== undefined && options.advertise !== false;
  }

  /** Opens a graph: starts an embedded directory, or joins the one at `options.directory`. */
  static async open(options: GraphOptions = {}): Promise<Graph> {
    const transport = options.transport;
    if (transport !== undefined && !["inproc", "ipc", "tcp"].includes(transport))
      throw new TypeError(`Expected \`transport\` to be inproc, ipc or tcp, got \`${String(transport)}\``);
    // Folders of graph processes that were killed before they could remove their own.
    removeStaleIpcDirs();
    const needIpc = (transport ?? "ipc") === "ipc";
    let ipcDir = needIpc ? makeIpcDir() : undefined;
    if (options.directory !== undefined) {
      return new Graph(undefined, checkEndpoint(options.directory, "directory"), options, ipcDir);
    }
    let bind = options.bind;
    if (bind === undefined) {
      if (transport === "tcp") bind = ["tcp://127.0.0.1:*"];
      else {
        // inproc graphs bind ipc too, for nodes in other threads and processes: that folder
        // is the graph's, removed at close like an ipc graph's.
        ipcDir ??= makeIpcDir();
        bind = [`ipc://${ipcDir}/directory.sock`];
        if (transport === "inproc") bind.push(`inproc://zmp-directory-${process.pid}-${Date.now()}`);
      }
    }
    let directory: Directory;
    try {
      directory = await Directory.start({
        bind,
        heartbeatMs: options.heartbeatMs,
        maxHeartbeatsPerSecond: options.maxHeartbeatsPerSecond,
        ...(options.security ? { security: options.security } : {}),
        ...(options.insecure ? { insecure: options.insecure } : {}),
      });
    } catch (error) {
      if (ipcDir) removeIpcDir(ipcDir);
      throw error;
    }
    const endpoint =
      transport === "inproc"
        ? directory.endpoints.find((e) => e.startsWith("inproc://"))!
        : directory.endpoint;
    const graph = new Graph(directory, endpoint, options, ipcDir);
    if (graph.#advertised) rememberDirectory(directory.endpoint);
    return graph;
  }

  /** Endpoint of the graph's directory (the one to give other hosts and `zmp --directory`). */
  get directory(): string {
    return this.#directory?.endpoint ?? this.#endpoint;
  }

  /** The embedded directory, when this graph started one. */
  get embeddedDirectory(): Directory | undefined {
    return this.#directory;
  }

  /** Starts an inline node (same event loop) and resolves once it is registered. */
  async node(name: string, options: Partial<Omit<NodeOptions, "name" | "directory">> = {}): Promise<Node> {
    this.#open();
    const node = new Node(this.#nodeOptions(checkName(name), options, "inline"));
    await node.start();
    this.#inline.add(node);
    return node;
  }

  /**
   * Hosts a node module (its default export is `(node, args) => void |
   * teardown`) or an init function (inline only) and resolves once the node
   * is ready. Rejects with the init error, or a `HostExitError` when the host
   * ends before it is ready.
   */
  async spawn<Args = unknown>(
    module: string | URL | NodeInit<Args>,
    options: SpawnOptions<Args>,
  ): Promise<HostedNode> {
    this.#open();
    const host = options.host ?? "process";
    if (!["inline", "thread", "process"].includes(host))
      throw new TypeError(`Expected \`host\` to be inline, thread or process, got \`${String(host)}\``);
    checkName(options.name);
    const isFunction = typeof module === "function";
    if (isFunction && host !== "inline")
      throw new TypeError(
        "Expected a module path or URL for a thread or process host (a function cannot cross to it)",
      );
    const transport = options.node?.transport ?? this.#transport;
    if (transport === "inproc" && host !== "inline")
      throw new TypeError(
        "Expected an ipc or tcp transport for a thread or process host (inproc does not cross threads)",
      );
    // The graph keeps the node's token, so it can deregister the node if its host dies.
    const token = randomBytes(24).toString("base64url");
    const nodeOptions: NodeOptions & InternalOptions = {
      ...this.#nodeOptions(options.name, options.node ?? {}, host),
      token,
    };
    if (host !== "inline" && transportOf(nodeOptions.directory) === "inproc")
      nodeOptions.directory = this.directory;
    const hosted = await HostedNode.start(
      {
        module: isFunction ? "" : moduleUrl(module as string | URL),
        exportName: options.exportName,
        host,
        args: options.args,
        node: nodeOptions,
      },
      {
        init: isFunction ? (module as NodeInit) : undefined,
        startTimeoutMs: options.startTimeoutMs ?? 20_000,
        stopTimeoutMs: options.stopTimeoutMs ?? 5_000,
      },
    );
    this.#hosted.add(hosted);
    hosted.once("exit", (info) => {
      this.#hosted.delete(hosted);
      // A crash: remove the node's registrations now instead of after the heartbeat bound.
      if (!info.expected)
        void this.#evict(
          hosted.id,
          token,
          `its ${hosted.host} host exited (${info.signal ?? `code ${info.code}`})`,
        );
    });
    return hosted;
  }

  /** Nodes started by this graph and still running. */
  hosted(): HostedNode[] {
    return [...this.#hosted];
  }

  /** Live nodes, as the directory lists them. */
  async nodes(): Promise<NodeRecord[]> {
    if (this.#directory !== undefined) return this.#directory.nodes();
    const control = await this.#controlNode();
    return control._snapshot().catch(() => control.nodes());
  }

  /** Stops every node this graph started (in parallel), then the embedded directory. Safe to call twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.allSettled([...this.#hosted].map((h) => h.stop()));
    await Promise.allSettled([...this.#inline].map((n) => n.stop()));
    await this.#control?.stop();
    await this.#directory?.stop();
    if (this.#advertised && this.#directory) forgetDirectory(this.#directory.endpoint);
    if (this.#ipcDir !== undefined) removeIpcDir(this.#ipcDir);
  }

  #open(): void {
    if (this.#closed) throw new ClosedError("the graph is closed");
  }

  #nodeOptions(name: string, options: Partial<NodeOptions>, host: HostKind): NodeOptions {
    return {
      transport: this.#transport,
      ...(this.#ipcDir !== undefined ? { ipcDir: this.#ipcDir } : {}),
      ...this.#defaults,
      ...options,
      name,
      directory: this.#endpoint,
      host,
    };
  }

  async #evict(id: string, token: string, reason: string): Promise<void> {
    if (!id) return;
    if (this.#directory !== undefined) {
      this.#directory.evict(id, reason);
    } else {
      const control = await this.#controlNode().catch(() => undefined);
      await control?._deregister(id, token).catch(() => undefined);
    }
    for (const node of this.#inline) node._drop(id, reason);
  }

  async #controlNode(): Promise<Node> {
    if (this.#control === undefined) {
      this.#control = new Node(
        this.#nodeOptions(`zmp.graph.${process.pid}.${Date.now().toString(36)}`, {}, "inline"),
      );
      await this.#control.start();
    }
    return this.#control;
  }
}

function moduleUrl(module: string | URL): string {
  if (module instanceof URL) return module.href;
  if (/^[a-z][a-z0-9+.-]*:/i.test(module)) return module;
  if (module.startsWith(".") || module.startsWith("/")) return pathToFileURL(module).href;
  return module; // a package specifier
}
