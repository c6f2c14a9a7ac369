/**
 * Everything a person could see of some values, as one text: each value's
 * JSON and `inspect()`, and an error's message and stack. The secrets tests
 * search it.
 */
import { inspect } from "node:util"

export const exposed = (items: ReadonlyArray<unknown>): string =>
  items.map((item) => {
    let json = ""
    try {
      json = JSON.stringify(item)
    } catch {
      json = ""
    }
    return `${json}\n${inspect(item, { depth: 10 })}\n${item instanceof Error ? `${item.message}\n${item.stack}` : ""}`
  }).join("\n")
