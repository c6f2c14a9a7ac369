/**
 * The feed kinds the tests' runners know (`KHARBRANTH_DEFINITIONS`): the
 * simulator's venues with a dial limit raised for hundreds of slices on
 * loopback (the simulator enforces none for these venues).
 */
import { Binance, Okx } from "@kharbranth/exchanges"
import type * as FeedSlice from "../../src/FeedSlice.ts"

export const definitions: Readonly<Record<string, FeedSlice.Definition>> = {
  "sim-okx": { profile: Okx.publicProfile, options: { connectionLimit: { count: 400, window: "1 second" } } },
  "sim-binance": { profile: Binance.spot, options: { connectionLimit: { count: 400, window: "1 second" } } }
}
