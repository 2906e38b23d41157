/**
 * A latency histogram with fixed memory: log-spaced buckets (1% wide) from 1 µs up, so a load run
 * of any length keeps a few kilobytes, and percentiles are exact to within 1%.
 */
export class LatencyHistogram {
  private static readonly GROWTH = Math.log(1.01);
  private readonly buckets = new Float64Array(2400);
  count = 0;
  max = 0;
  min = Infinity;
  sum = 0;

  record(ms: number): void {
    const us = Math.max(1, ms * 1000);
    const index = Math.min(this.buckets.length - 1, Math.floor(Math.log(us) / LatencyHistogram.GROWTH));
    this.buckets[index]! += 1;
    this.count++;
    this.sum += ms;
    if (ms > this.max) this.max = ms;
    if (ms < this.min) this.min = ms;
  }

  /** The latency (ms) below which `p` percent of the recorded values fall. */
  percentile(p: number): number {
    if (this.count === 0) return 0;
    const rank = Math.ceil((p / 100) * this.count);
    let seen = 0;
    for (let i = 0; i < this.buckets.length; i++) {
      seen += this.buckets[i]!;
      if (seen >= rank) return Math.min(this.max, Math.exp((i + 1) * LatencyHistogram.GROWTH) / 1000);
    }
    return this.max;
  }

  get mean(): number {
    return this.count === 0 ? 0 : this.sum / this.count;
  }
}
