/**
 * The soak's exact accounting, per message id, after the run: producer i
 * offered ids `i · ID_SPAN + 0 … + offered_i − 1`; each worker's record file
 * holds the ids it handled (float64 LE, written before each acknowledgement);
 * the dead-letter file holds the ids the proxy shed. Every offered id must be
 * handled or shed — not both, and none neither (lost). An id handled more
 * than once is a duplicate; at-least-once allows them only for the messages
 * a SIGKILLed worker recorded and had not yet had acknowledged, which the
 * credit window bounds: its last `window` records (see {@link account}).
 */
import { readFileSync } from "node:fs";

/** Ids of producer i start at `i · ID_SPAN` (2^40: a trillion messages each, ids stay exact doubles). */
export const ID_SPAN = 2 ** 40;

/** What the ledger reads. */
export interface LedgerInput {
  /** Messages each producer offered, in producer order (producer i's ids start at i · ID_SPAN). */
  offered: number[];
  /** Record files of every worker that ran, the killed one included. */
  workers: { name: string; file: string }[];
  /** The dead-letter record file (ids the proxy shed). */
  shedFile: string;
  /** The worker that was SIGKILLed, and the credit window it granted. */
  killed?: { name: string; window: number };
}

/** The accounting (counts of messages unless said otherwise). */
export interface Ledger {
  /** Ids the producers offered. */
  offered: number;
  /** Distinct ids dead-lettered (shed by admission). */
  shed: number;
  /** Distinct ids some worker handled. */
  handled: number;
  /** Handlings recorded, duplicates included. */
  records: number;
  /** Extra handlings: records of offered ids − `handled`. */
  duplicates: number;
  /** Offered ids neither handled nor shed. */
  lost: number;
  /** Ids both shed and handled (never allowed). */
  shedAndHandled: number;
  /** Ids dead-lettered more than once (never allowed). */
  shedTwice: number;
  /** Records or dead letters with an id no producer offered (never allowed). */
  foreign: number;
  /** Bytes at the end of record files that make no whole record (a write cut by SIGKILL). */
  partialBytes: number;
  /** Records per worker. */
  perWorker: { name: string; records: number }[];
  /**
   * Duplicates explained by the kill: ids handled exactly twice, once among
   * the killed worker's last `window` records and once by another worker.
   */
  duplicatesFromKill: number;
  /** Duplicates not explained by the kill (never allowed). */
  duplicatesUnexplained: number;
  /** Deepest duplicate in the killed worker's record, counted from its last record (0: the last); −1 without any. */
  deepestDuplicate: number;
  /** Up to 10 lost ids, for diagnosis. */
  lostSample: number[];
}

/** Reads a record file as float64 ids; `partial` counts trailing bytes that make no whole record. */
export function readRecords(file: string): { ids: Float64Array; partial: number } {
  const bytes = readFileSync(file);
  const whole = bytes.length - (bytes.length % 8);
  const aligned = bytes.byteOffset % 8 === 0 ? bytes : new Uint8Array(bytes.subarray(0, whole)); // copy to align
  const ids = new Float64Array(aligned.buffer, aligned.byteOffset, whole / 8);
  return { ids, partial: bytes.length - whole };
}

/** The ledger of a run (see the module comment). */
export function account(input: LedgerInput): Ledger {
  const offered = input.offered;
  // Per producer: how often each id was handled (saturating at 255) and whether it was shed.
  const handledCount = offered.map((n) => new Uint8Array(n));
  const shedMark = offered.map((n) => new Uint8Array(n));
  let foreign = 0;
  let partialBytes = 0;
  const slot = (id: number): [number, number] | undefined => {
    const p = Math.floor(id / ID_SPAN);
    const seq = id - p * ID_SPAN;
    if (!Number.isInteger(id) || p < 0 || p >= offered.length || seq >= offered[p]!) return undefined;
    return [p, seq];
  };

  let shedTwice = 0;
  const shedRecords = readRecords(input.shedFile);
  partialBytes += shedRecords.partial;
  for (const id of shedRecords.ids) {
    const s = slot(id);
    if (s === undefined) foreign++;
    else if (shedMark[s[0]]![s[1]]! === 1) shedTwice++;
    else shedMark[s[0]]![s[1]] = 1;
  }

  let records = 0;
  let foreignRecords = 0;
  const files = input.workers.map((w) => {
    const r = readRecords(w.file);
    partialBytes += r.partial;
    return { name: w.name, ids: r.ids };
  });
  for (const { ids } of files) {
    records += ids.length;
    for (const id of ids) {
      const s = slot(id);
      if (s === undefined) foreignRecords++;
      else {
        const counts = handledCount[s[0]]!;
        if (counts[s[1]]! < 255) counts[s[1]]!++;
      }
    }
  }

  let handled = 0;
  let shed = 0;
  let lost = 0;
  let shedAndHandled = 0;
  const lostSample: number[] = [];
  const duplicated = new Set<number>();
  for (let p = 0; p < offered.length; p++) {
    const counts = handledCount[p]!;
    const marks = shedMark[p]!;
    for (let seq = 0; seq < counts.length; seq++) {
      const c = counts[seq]!;
      const s = marks[seq]!;
      if (c > 0) handled++;
      if (s > 0) shed++;
      if (c > 0 && s > 0) shedAndHandled++;
      if (c === 0 && s === 0) {
        lost++;
        if (lostSample.length < 10) lostSample.push(p * ID_SPAN + seq);
      }
      if (c > 1 && duplicated.size < 1_000_000) duplicated.add(p * ID_SPAN + seq);
    }
  }

  // Where each duplicate was handled: the killed worker's tail explains it, anything else does not.
  let duplicatesFromKill = 0;
  let deepestDuplicate = -1;
  if (duplicated.size > 0) {
    const seen = new Map<number, { inKilledTail: number; inKilled: number; elsewhere: number }>();
    for (const id of duplicated) seen.set(id, { inKilledTail: 0, inKilled: 0, elsewhere: 0 });
    const killed = input.killed;
    for (const { name, ids } of files) {
      const isKilled = killed !== undefined && name === killed.name;
      for (let i = 0; i < ids.length; i++) {
        const where = seen.get(ids[i]!);
        if (where === undefined) continue;
        if (!isKilled) where.elsewhere++;
        else {
          where.inKilled++;
          const fromEnd = ids.length - 1 - i;
          if (fromEnd < killed.window) where.inKilledTail++;
          deepestDuplicate = Math.max(deepestDuplicate, fromEnd);
        }
      }
    }
    for (const where of seen.values())
      if (where.inKilledTail === 1 && where.inKilled === 1 && where.elsewhere === 1) duplicatesFromKill++;
  }

  const duplicates = records - foreignRecords - handled;
  return {
    offered: offered.reduce((a, b) => a + b, 0),
    shed,
    handled,
    records,
    duplicates,
    lost,
    shedAndHandled,
    shedTwice,
    foreign: foreign + foreignRecords,
    partialBytes,
    perWorker: files.map((f) => ({ name: f.name, records: f.ids.length })),
    duplicatesFromKill,
    duplicatesUnexplained: duplicates - duplicatesFromKill,
    deepestDuplicate,
    lostSample,
  };
}
