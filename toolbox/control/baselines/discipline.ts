/**
 * A queue discipline: an active queue manager that sits in the data path
 * of a FIFO and decides per message, as PIE (RFC 8033) and CoDel (RFC 8289)
 * are specified — PIE drops arriving messages at enqueue with a
 * probability it updates on a timer, CoDel drops messages at dequeue by
 * their sojourn time. A queue (the simulated worker pool) calls the hooks
 * at its events; between events nothing changes, so running the timers at
 * the next event with the queue as it stood is exact.
 *
 * Queue lengths count messages waiting, not those in service (the bytes
 * in a router's buffer, not the packet on the wire).
 */
export interface QueueDiscipline {
  /** Short stable name ("pie", "codel"). */
  readonly kind: string;
  /**
   * Time has advanced to `now` (seconds) with `queued` messages waiting the
   * whole while: run the timers that fell due (PIE's drop-probability
   * update every tUpdate).
   */
  advance(now: number, queued: number): void;
  /**
   * A message arrives at `now` and would join `queued` waiting ones: true
   * drops it. `random()` draws uniformly from [0, 1) (the queue's seeded
   * stream, so runs repeat).
   */
  onEnqueue(now: number, queued: number, random: () => number): boolean;
  /**
   * The head message leaves the queue at `now` for service after waiting
   * `sojourn` seconds, `queued` still waiting behind it: true drops it
   * instead (the queue then offers the next head). Called once per head.
   */
  onDequeue(now: number, sojourn: number, queued: number): boolean;
}
