/**
 * The statistics the harness reports: percentiles (linear interpolation
 * between closest ranks), medians with min–max over runs, ratios to raw `ws`
 * paired run by run, and the peak of a bucketed rate. Pure functions, no I/O,
 * so every process (and the unit tests) can use them.
 */

/** Median with the range over runs. */
export interface Summary {
  readonly median: number
  readonly min: number
  readonly max: number
  readonly n: number
}

/**
 * The `p`-th percentile (0–100) of `values`, interpolating linearly between
 * the two closest ranks (the "type 7" definition of R and NumPy). NaN for no values.
 */
export const percentile = (values: ArrayLike<number>, p: number): number => {
  const sorted = Float64Array.from(values).sort()
  return percentileSorted(sorted, p)
}

/** `percentile` on values already sorted ascending. */
export const percentileSorted = (sorted: ArrayLike<number>, p: number): number => {
  const n = sorted.length
  if (n === 0) return Number.NaN
  if (p <= 0) return sorted[0]!
  if (p >= 100) return sorted[n - 1]!
  const rank = (p / 100) * (n - 1)
  const lo = Math.floor(rank)
  const hi = Math.min(n - 1, lo + 1)
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (rank - lo)
}

/** p50, p99, p99.9 and max of a sample, in its unit. */
export interface Percentiles {
  readonly p50: number
  readonly p99: number
  readonly p999: number
  readonly max: number
  readonly count: number
}

/** The latency percentiles the report shows. */
export const percentiles = (values: ArrayLike<number>): Percentiles => {
  const sorted = Float64Array.from(values).sort()
  return {
    p50: percentileSorted(sorted, 50),
    p99: percentileSorted(sorted, 99),
    p999: percentileSorted(sorted, 99.9),
    max: sorted.length === 0 ? Number.NaN : sorted[sorted.length - 1]!,
    count: sorted.length
  }
}

/** Median, min and max of the finite values (NaN summary when there are none). */
export const summarize = (values: ReadonlyArray<number>): Summary => {
  const finite = values.filter(Number.isFinite)
  if (finite.length === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN, n: 0 }
  const sorted = Float64Array.from(finite).sort()
  return { median: percentileSorted(sorted, 50), min: sorted[0]!, max: sorted[sorted.length - 1]!, n: finite.length }
}

/** `candidate / baseline`, NaN when either is missing, not finite, or the baseline is 0. */
export const ratio = (candidate: number, baseline: number): number =>
  Number.isFinite(candidate) && Number.isFinite(baseline) && baseline !== 0 ? candidate / baseline : Number.NaN

/**
 * Ratios paired run by run (`candidate[k] / baseline[k]`: the two were
 * measured next to each other, under the same machine noise), summarized.
 */
export const pairedRatio = (candidate: ReadonlyArray<number>, baseline: ReadonlyArray<number>): Summary => {
  const pairs: Array<number> = []
  for (let i = 0; i < Math.min(candidate.length, baseline.length); i++) pairs.push(ratio(candidate[i]!, baseline[i]!))
  return summarize(pairs)
}

/** Counts of events per bucket of `width` starting at `origin` (events before the origin are ignored). */
export const bucketize = (times: ReadonlyArray<number>, origin: number, width: number): Array<number> => {
  const buckets: Array<number> = []
  for (const t of times) {
    if (t < origin) continue
    const index = Math.floor((t - origin) / width)
    while (buckets.length <= index) buckets.push(0)
    buckets[index]!++
  }
  return buckets
}

/** The largest bucket (0 for none). */
export const peak = (buckets: ReadonlyArray<number>): number => buckets.reduce((a, b) => Math.max(a, b), 0)

/** Formats a number with `digits` significant-ish decimals; "n/a" for NaN. */
export const fmt = (value: number, digits = 2): string => {
  if (!Number.isFinite(value)) return "n/a"
  const abs = Math.abs(value)
  if (abs >= 1000) return Math.round(value).toLocaleString("en-US")
  if (abs >= 100) return value.toFixed(Math.max(0, digits - 2))
  if (abs >= 10) return value.toFixed(Math.max(0, digits - 1))
  return value.toFixed(digits)
}
