/**
 * How the bench takes a process's memory: RSS and V8 heap after four full
 * collections 20 ms apart (collections only with `--expose-gc`). The client
 * process takes it for the memory scenario, `src/open.ts` for trying Node
 * flags by hand: one function, so both measure the same thing.
 */
import type { Memory } from "./protocol.ts"

const gc = (globalThis as { gc?: () => void }).gc

/** Whether `gc()` is exposed, so that `settledMemory` collects first. */
export const canCollect = gc !== undefined

/** RSS and heap used, in bytes, after four full collections. */
export const settledMemory = async (): Promise<Memory> => {
  for (let i = 0; i < 4; i++) {
    gc?.()
    await new Promise<void>((resolve) => setTimeout(resolve, 20))
  }
  const usage = process.memoryUsage()
  return { rss: usage.rss, heapUsed: usage.heapUsed }
}
