/**
 * Smoothing of sampled signals for offline analysis: a centered moving
 * average over a time window. Offline analysis may look ahead, so the
 * average adds no lag (a live loop would filter causally instead).
 */

/**
 * Centered moving average: each value the mean of the values whose time is
 * within ±`width`/2 seconds of its own (fewer at the ends). `times` ascend;
 * a `width` ≤ 0 returns a copy of `values`. On a uniform grid of period `dt`,
 * a width of `(2h + 1)·dt` averages exactly `h` samples on each side.
 */
export function movingAverage(times: readonly number[], values: readonly number[], width: number): number[] {
  if (!(width > 0)) return values.slice();
  const half = width / 2;
  const out = new Array<number>(values.length);
  let lo = 0;
  let hi = 0;
  let sum = 0;
  for (let k = 0; k < values.length; k++) {
    while (hi < values.length && times[hi]! <= times[k]! + half) sum += values[hi++]!;
    while (times[lo]! < times[k]! - half) sum -= values[lo++]!;
    out[k] = sum / (hi - lo);
  }
  return out;
}
