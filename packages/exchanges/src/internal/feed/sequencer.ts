/**
 * Where a data message sits against what a feed already delivered of its
 * stream: in order, a duplicate, a documented reset of the numbering, or a
 * gap. Pure: the feed keeps the last number per stream and acts on the
 * verdict (drop, deliver, restart, resync, hold).
 *
 * Streams that chain by the previous message's number (OKX `prevSeqId`,
 * Binance futures `pu`) are chained by it first: an update naming the last
 * delivered number continues the stream even when its own number is lower —
 * that is OKX's documented `seqId` reset after maintenance.
 */
import type * as Venue from "../../Venue.ts"

/** What to do with a sequenced message. */
export type Verdict =
  | { readonly _tag: "InOrder" }
  | { readonly _tag: "Duplicate" }
  | { readonly _tag: "Reset"; readonly from: number; readonly to: number }
  | { readonly _tag: "Gap"; readonly expected: number; readonly got: number }

const inOrder: Verdict = { _tag: "InOrder" }
const duplicate: Verdict = { _tag: "Duplicate" }

/**
 * The verdict on `seq` when `last` is the last number delivered of its
 * stream (undefined: nothing yet). `overlap` is set while a rotation's held
 * frames are released: a snapshot there may be older than what consumers
 * already have, so it is judged by its number like any message.
 */
export const judge = (last: number | undefined, seq: Venue.Sequence, overlap: boolean): Verdict => {
  if (last === undefined || (seq.snapshot === true && !overlap)) return inOrder
  const prev = seq.prev
  if (prev !== undefined) {
    if (prev === last) return seq.last < prev ? { _tag: "Reset", from: last, to: seq.last } : inOrder
    if (prev < last) return seq.last <= last || seq.last < prev ? duplicate : inOrder
    return seq.snapshot === true ? inOrder : { _tag: "Gap", expected: last, got: prev }
  }
  if (seq.last <= last) return duplicate
  if (seq.snapshot === true || seq.first <= last + 1) return inOrder
  return { _tag: "Gap", expected: last + 1, got: seq.first }
}

/** Whether a standby session's first reading of a stream continues what was delivered (no gap at the switch). */
export const overlaps = (last: number | undefined, first: Venue.Sequence): boolean =>
  last === undefined || first.snapshot === true || judge(last, first, true)._tag !== "Gap"
