/**
 * Unit tests of the statistics: percentiles by linear interpolation,
 * summaries, paired ratios and bucketed peaks.
 */
import { describe, expect, it } from "vitest"
import { bucketize, fmt, pairedRatio, peak, percentile, percentiles, ratio, summarize } from "../src/stats.ts"

describe("percentile", () => {
  it("interpolates between the closest ranks", () => {
    const values = [15, 20, 35, 40, 50]
    expect(percentile(values, 0)).toBe(15)
    expect(percentile(values, 50)).toBe(35)
    expect(percentile(values, 100)).toBe(50)
    expect(percentile(values, 40)).toBeCloseTo(29)
    expect(percentile(values, 90)).toBeCloseTo(46)
  })

  it("does not depend on input order", () => {
    expect(percentile([5, 1, 4, 2, 3], 50)).toBe(3)
  })

  it("is NaN for no values", () => {
    expect(percentile([], 99)).toBeNaN()
  })

  it("gives p99 and p99.9 of 1..1000", () => {
    const values = Array.from({ length: 1000 }, (_, i) => i + 1)
    const p = percentiles(values)
    expect(p.p50).toBeCloseTo(500.5)
    expect(p.p99).toBeCloseTo(990.01)
    expect(p.p999).toBeCloseTo(999.001)
    expect(p.max).toBe(1000)
    expect(p.count).toBe(1000)
  })
})

describe("summarize", () => {
  it("gives median and min–max, ignoring NaN", () => {
    expect(summarize([3, Number.NaN, 1, 2])).toEqual({ median: 2, min: 1, max: 3, n: 3 })
  })

  it("is NaN with n = 0 for nothing", () => {
    expect(summarize([Number.NaN]).n).toBe(0)
    expect(summarize([]).median).toBeNaN()
  })
})

describe("ratios", () => {
  it("divides, and is NaN for a zero or missing baseline", () => {
    expect(ratio(95, 100)).toBe(0.95)
    expect(ratio(1, 0)).toBeNaN()
    expect(ratio(Number.NaN, 1)).toBeNaN()
  })

  it("pairs runs by index, then summarizes", () => {
    const s = pairedRatio([90, 110, 100], [100, 100, 50])
    expect(s.median).toBeCloseTo(1.1)
    expect(s.min).toBeCloseTo(0.9)
    expect(s.max).toBeCloseTo(2)
  })

  it("skips a failed run on either side", () => {
    expect(pairedRatio([90, Number.NaN], [100, 100]).n).toBe(1)
  })
})

describe("bucketize and peak", () => {
  it("counts events per window from the origin", () => {
    const buckets = bucketize([5, 100, 150, 199, 250, 999, -1], 0, 100)
    expect(buckets.slice(0, 3)).toEqual([1, 3, 1])
    expect(buckets.length).toBe(10)
    expect(buckets[9]).toBe(1)
    expect(peak(buckets)).toBe(3)
    expect(peak([])).toBe(0)
  })
})

describe("fmt", () => {
  it("formats ratios, large numbers and NaN", () => {
    expect(fmt(0.9712)).toBe("0.97")
    expect(fmt(612_345.6)).toBe("612,346")
    expect(fmt(Number.NaN)).toBe("n/a")
  })
})
