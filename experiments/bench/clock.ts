/**
 * One clock for every process of a run: milliseconds since the epoch with
 * sub-millisecond resolution (`performance.timeOrigin + performance.now()`).
 * The parent stamps the start of a repetition and a consumer in another
 * process stamps its last message, so a rate needs no round trip to measure.
 */
export function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

/** Resolves after the current turn's I/O: the way producer loops let their sockets work. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
