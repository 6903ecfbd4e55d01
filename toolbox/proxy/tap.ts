/**
 * A tap: copies what a proxy or cache passes on — every message, or one in
 * `sample` — to a topic (watch it with `zmp echo TOPIC`) and/or a file of
 * JSON lines, for inspection. Records are built only for the messages the
 * sample keeps, so a tap with a large `sample` costs a counter per message.
 */
import { createWriteStream, type WriteStream } from "node:fs";
import type { Node } from "../../core/node.js";
import { checkOptions, fail } from "../control/validate.js";
import { integerBetween, MAX_COUNT } from "../limits.js";

export interface TapOptions {
  /**
   * Topic each record is published on. `true`: the default topic
   * `tap/<node name>/<channel>`. Default: no topic.
   */
  topic?: string | boolean;
  /** File each record is appended to as one JSON line (created if missing). Default: no file. */
  file?: string;
  /** Copy one message in `sample` (every `sample`-th, starting with the first). Default 1: all. */
  sample?: number;
}

/** Counters of a tap. */
export interface TapStats {
  /** Topic the records go to, or null. */
  topic: string | null;
  /** File the records go to, or null. */
  file: string | null;
  sample: number;
  /** Messages offered to the tap. */
  seen: number;
  /** Records written (published and/or appended). */
  written: number;
}

/** The default tap topic of a channel on a node. */
export function tapTopic(node: string, channel: string): string {
  return `tap/${node}/${channel === "" ? "all" : channel}`;
}

export class TapSink {
  readonly #node: Node;
  readonly #topic: string | undefined;
  readonly #file: string | undefined;
  readonly #sample: number;
  #stream: WriteStream | undefined;
  #seen = 0;
  #written = 0;
  #closed = false;

  /**
   * @param channel the channel tapped, for the default topic name.
   * @param avoid a topic prefix the tap topic must not fall under (a topic
   *   proxy's own prefix: its subscribers would get the tap's records).
   */
  constructor(node: Node, options: TapOptions, channel: string, avoid?: string) {
    const o = checkOptions(options, ["topic", "file", "sample"], "tap options");
    this.#node = node;
    this.#sample = o.sample === undefined ? 1 : integerBetween("tap.sample", o.sample, 1, MAX_COUNT);
    if (o.topic !== undefined && typeof o.topic !== "string" && typeof o.topic !== "boolean")
      fail("tap.topic", "a topic name or a boolean", o.topic, true);
    if (o.file !== undefined && (typeof o.file !== "string" || o.file === ""))
      fail("tap.file", "a file path", o.file, true);
    const topic = o.topic === true ? tapTopic(node.name, channel) : o.topic || undefined;
    if (topic !== undefined) {
      if (avoid !== undefined && avoid !== "" && topic.startsWith(avoid))
        fail("tap.topic", `a topic outside the proxied prefix \`${avoid}\``, topic);
      node.advertise(topic);
    }
    this.#topic = topic;
    this.#file = o.file;
    if (this.#file !== undefined) {
      this.#stream = createWriteStream(this.#file, { flags: "a" });
      this.#stream.on("error", (error) => {
        process.emitWarning(`zmp: tap file ${this.#file}: ${error.message}`);
        this.#stream = undefined;
      });
    }
    if (topic === undefined && this.#file === undefined)
      throw new TypeError("Expected the tap to have a `topic` or a `file`, got neither");
  }

  /** Offers one message: `record()` builds its record only when the sample keeps it. */
  offer(record: () => Record<string, unknown>): void {
    if (this.#closed) return;
    if (this.#seen++ % this.#sample !== 0) return;
    const value = { time: Date.now(), ...record() };
    this.#written++;
    if (this.#topic !== undefined && this.#node.state === "running") {
      try {
        this.#node.publish(this.#topic, value);
      } catch {
        // not plain data or too big: the file (if any) still gets it
      }
    }
    this.#stream?.write(`${JSON.stringify(value, jsonLine)}\n`);
  }

  stats(): TapStats {
    return {
      topic: this.#topic ?? null,
      file: this.#file ?? null,
      sample: this.#sample,
      seen: this.#seen,
      written: this.#written,
    };
  }

  /** Stops tapping; resolves when the file has everything written so far. Safe to call twice. */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    const stream = this.#stream;
    this.#stream = undefined;
    if (stream === undefined) return Promise.resolve();
    return new Promise((resolve) => stream.end(() => resolve()));
  }
}

/** JSON for files: binary as base64, Dates as ISO strings (JSON's own), non-finite numbers as strings. */
function jsonLine(_key: string, value: unknown): unknown {
  if (value && typeof value === "object" && (value as { type?: unknown }).type === "Buffer") {
    const data = (value as { data?: unknown }).data;
    if (Array.isArray(data)) return { base64: Buffer.from(data as number[]).toString("base64") };
  }
  if (typeof value === "number" && !Number.isFinite(value)) return String(value);
  return value;
}

/** A new tap from `value` (options object; null or false removes it), closing the old one. */
export function replaceTap(
  node: Node,
  old: TapSink | undefined,
  value: unknown,
  channel: string,
  avoid?: string,
): TapSink | undefined {
  const next =
    value === null || value === false ? undefined : new TapSink(node, value as TapOptions, channel, avoid);
  void old?.close();
  return next;
}
