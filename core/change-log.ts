/**
 * The directory's recent changes, so a node that missed notifications (or
 * read a snapshot page by page while the graph changed) catches up with the
 * changes since its version instead of reading the whole directory again.
 * Bounded by the bytes of the records it holds: the oldest go first, and a
 * node asking for changes older than what is kept reads a snapshot instead.
 */
import type { DirectoryChange } from "./record.js";

interface Logged {
  version: number;
  change: DirectoryChange;
  bytes: number;
}

export class ChangeLog {
  readonly #maxBytes: number;
  #entries: Logged[] = [];
  #head = 0;
  #bytes = 0;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  /** Appends the change made at `version` (`bytes`: its encoded size). */
  add(version: number, change: DirectoryChange, bytes: number): void {
    this.#entries.push({ version, change, bytes });
    this.#bytes += bytes;
    while (this.#bytes > this.#maxBytes && this.#head < this.#entries.length - 1) {
      this.#bytes -= this.#entries[this.#head]!.bytes;
      this.#entries[this.#head++] = undefined as unknown as Logged;
    }
    // Compact now and then so the dropped head does not keep the array long.
    if (this.#head > 1024 && this.#head * 2 > this.#entries.length) {
      this.#entries = this.#entries.slice(this.#head);
      this.#head = 0;
    }
  }

  /**
   * The changes after `since`, oldest first, up to `maxBytes` (at least one);
   * `more` when others follow. Undefined when some of them are no longer kept.
   */
  since(
    since: number,
    maxBytes: number,
  ): { changes: [number, DirectoryChange][]; more: boolean } | undefined {
    const first = this.#entries[this.#head];
    const last = this.#entries[this.#entries.length - 1];
    if (last === undefined || last.version <= since) return { changes: [], more: false };
    if (first === undefined || first.version > since + 1) return undefined;
    const changes: [number, DirectoryChange][] = [];
    let bytes = 0;
    let i = this.#head + (since + 1 - first.version);
    for (; i < this.#entries.length; i++) {
      const entry = this.#entries[i]!;
      if (changes.length > 0 && bytes + entry.bytes > maxBytes) break;
      changes.push([entry.version, entry.change]);
      bytes += entry.bytes;
    }
    return { changes, more: i < this.#entries.length };
  }

  /** Bytes of the records kept. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Changes kept. */
  get size(): number {
    return this.#entries.length - this.#head;
  }
}
