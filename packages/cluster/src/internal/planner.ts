/**
 * Where a feed's new topics go: the same rule `Feed` uses for its shards,
 * over slices. A topic joins the lowest-numbered slice of its route with
 * room; when none has room, the lowest slice number not in use is taken.
 * Pure, so the registry runs it inside its own lock or transaction.
 */

/** A slice as the planner sees it: its route (of its first topic) and how many topics it holds. */
export interface SliceLoad {
  readonly slice: number
  readonly route: string | undefined
  readonly count: number
}

/**
 * Places `topics` (already free of the feed's held topics and of
 * duplicates) on `slices`, at most `sliceSize` topics per slice. Returns
 * the new placements by slice, in slice order.
 */
export const place = (
  slices: ReadonlyArray<SliceLoad>,
  topics: ReadonlyArray<string>,
  sliceSize: number,
  routeOf: (topic: string) => string | undefined
): ReadonlyMap<number, ReadonlyArray<string>> => {
  const load = new Map<number, { route: string | undefined; count: number }>()
  for (const s of slices) load.set(s.slice, { route: s.route, count: s.count })
  const placed = new Map<number, Array<string>>()
  for (const topic of topics) {
    const route = routeOf(topic)
    let target: number | undefined
    for (const slice of [...load.keys()].sort((a, b) => a - b)) {
      const entry = load.get(slice)!
      if (entry.route === route && entry.count < sliceSize) {
        target = slice
        break
      }
    }
    if (target === undefined) {
      target = 0
      while (load.has(target)) target++
      load.set(target, { route, count: 0 })
    }
    load.get(target)!.count++
    const list = placed.get(target)
    if (list === undefined) placed.set(target, [topic])
    else list.push(topic)
  }
  return new Map([...placed.entries()].sort(([a], [b]) => a - b))
}
