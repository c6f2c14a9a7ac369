/**
 * `FeedCluster.layerPg` for real: a throwaway PostgreSQL (globalSetup), the
 * simulator in this process as the venues, three `kharbranth-runner`
 * processes, and this test process as a client-only member. In order, on
 * one cluster: 300 slices spread over the runners, every slice's status
 * from a client, kill -9 of a runner (its slices back on the others with no
 * client traffic, the consumer's `frames` going on with `SliceMoved`), a
 * runner joining (slices rebalance to it, never two live connections of
 * one slice for more than 1 s), SIGTERM (hand-over, exit) and a 15 s freeze.
 * The limits are the issue's, on one run each; `pnpm --filter
 * @kharbranth/cluster measure` checks them over five runs (RELIABILITY.md).
 * Two carry a margin for a slower machine: status(300) ≤ 150 ms here (55–77 ms
 * measured, target 100) and the join gap ≤ 2.5 s (≤ 1.5 s measured, target 2).
 */
import { afterAll, assert, beforeAll, describe, inject, it } from "@effect/vitest"
import { type SimulatorHandle, startSimulator } from "@kharbranth/simulator"
import { createDatabase, dropDatabase } from "@kharbranth/test-utils/postgres"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Stream from "effect/Stream"
import * as FeedCluster from "../src/FeedCluster.ts"
import {
  byRunner,
  type ConnectionLog,
  connectionsOfTopic,
  healthy,
  recordConnections,
  registeredRunners,
  sliceStatuses,
  topics300,
  waitFor
} from "./utils/cluster.ts"
import { definitions } from "./utils/definitions.ts"
import { type Runner, startRunner, stopAll } from "./utils/runners.ts"

const database = "kh_cluster_it"
const feed = "spread"
const sliceCount = 300
const ports = [25101, 25102, 25103, 25104]

const topics = topics300

let url = ""
let sim: SimulatorHandle
let runners: Array<Runner> = []
let runtime: ManagedRuntime.ManagedRuntime<
  FeedCluster.FeedCluster | import("effect/cluster/Sharding").Sharding,
  unknown
>
let log = new Map<number, ConnectionLog>()

const run = <A, E>(effect: Effect.Effect<A, E, FeedCluster.FeedCluster | import("effect/cluster/Sharding").Sharding>) =>
  runtime.runPromise(effect)

/** Each slice's status, asked one by one with a short timeout: undefined where the slice does not answer. */
const statuses = (slices: ReadonlyArray<number>, timeout?: import("effect/Duration").Input) =>
  sliceStatuses(run, feed, slices, timeout)

const topicOfSlice = new Map<number, string>()
/** A consumer of the whole feed in this process: what it received, and its fiber. */
const consume = () => {
  const seen: Array<FeedCluster.ClusterItem> = []
  const consumer = runtime.runFork(
    Effect.flatMap(
      FeedCluster.FeedCluster,
      (c) => c.frames(feed).pipe(Stream.runForEach((item) => Effect.sync(() => void seen.push(item))))
    )
  )
  return { consumer, seen }
}

const startRunners = async (count: number) => {
  for (const port of ports.slice(0, count)) runners.push(startRunner({ url, port }))
  await waitFor(`${count} runners registered`, async () => (await registeredRunners(url)) === count, 30_000)
}

beforeAll(async () => {
  url = await createDatabase(inject("pgAdminUrl"), database)
  sim = await startSimulator({ rate: 2 })
  log = recordConnections(sim).log
  await startRunners(3)
  runtime = ManagedRuntime.make(FeedCluster.layerPg({ url, runner: "client", definitions }))
}, 60_000)

afterAll(async () => {
  await runtime?.dispose()
  await stopAll(runners)
  await sim?.close()
  await dropDatabase(inject("pgAdminUrl"), database)
}, 30_000)

describe("FeedCluster.layerPg: three runner processes over PostgreSQL", () => {
  it(
    "spreads 300 slices over 3 runners (each ≥ 20%), and a client reads all 300 statuses (median ≤ 150 ms)",
    async () => {
      const started = Date.now()
      await run(Effect.gen(function*() {
        const cluster = yield* FeedCluster.FeedCluster
        yield* cluster.addFeed({ name: feed, kind: "sim-binance", url: sim.endpoints.binance, sliceSize: 1 })
        const synced = yield* cluster.subscribe(feed, topics)
        for (const s of synced) topicOfSlice.set(s.slice, s.topics[0]!.topic)
      }))
      const subscribedMs = Date.now() - started
      const all = await run(Effect.flatMap(FeedCluster.FeedCluster, (c) => c.status(feed)))
      assert.strictEqual(all.length, sliceCount)
      const spread = byRunner(all)
      assert.strictEqual(spread.size, 3, [...spread.keys()].join(", "))
      for (const [runner, slices] of spread) {
        assert.isAtLeast(slices.length, sliceCount * 0.2, `${runner} holds ${slices.length}`)
      }
      // Status of 300 slices from a client-only member: six rounds to warm up, then nine measured (a
      // median of nine, so that a second of load from elsewhere on a shared machine does not decide it).
      // On a 2-vCPU VM the first four or five rounds took 130-390 ms and the later ones 50-140 ms: with
      // two warm-up rounds, the median fell on a warming round as often as not.
      const warmUp = 6
      const times: Array<number> = []
      for (let i = 0; i < warmUp + 9; i++) {
        const t0 = performance.now()
        const again = await run(Effect.flatMap(FeedCluster.FeedCluster, (c) => c.status(feed)))
        if (i >= warmUp) times.push(performance.now() - t0)
        assert.strictEqual(again.length, sliceCount)
      }
      const sorted = [...times].sort((a, b) => a - b)
      console.log(
        `spread ${[...spread.values()].map((s) => s.length).join("/")}; subscribe 300 in ${subscribedMs} ms; ` +
          `status(300) ms: ${times.map((t) => t.toFixed(1)).join(", ")}`
      )
      assert.isAtMost(
        sorted[times.length >> 1]!,
        150,
        "median status(300) within 150 ms (the target of 100 ms is measured by `measure`)"
      )
    },
    90_000
  )

  it(
    "kill -9 of a runner: each of its slices confirmed with data on another runner within 8 s, no client traffic; the consumer's frames go on with SliceMoved",
    async () => {
      const before = await statuses([...topicOfSlice.keys()])
      const spread = byRunner(before)
      const [victimAddress, moved] = [...spread.entries()].sort((a, b) => b[1].length - a[1].length)[0]!
      const victim = runners.find((r) => r.address === victimAddress)!
      // A consumer of the whole feed, from before the kill.
      const { consumer, seen } = consume()
      await waitFor("frames before the kill", () => seen.length > 100, 10_000)
      const killedAt = Date.now()
      victim.signal("SIGKILL")
      await victim.exited
      // No request to the slices until they are back: only their status is read, which does not start an entity.
      const back = new Map<number, number>()
      await waitFor(`${moved.length} slices back`, async () => {
        const now = await statuses(moved.filter((s) => !back.has(s)), "500 millis")
        const at = Date.now()
        const pending = moved.filter((s) => !back.has(s))
        now.forEach((s, i) => {
          if (healthy(s, victimAddress, killedAt)) back.set(pending[i]!, at - killedAt)
        })
        return back.size === moved.length
      }, 20_000)
      const worst = Math.max(...back.values())
      const movedMarks = new Set(seen.filter((i) => i._tag === "SliceMoved").map((i) => i.slice))
      console.log(
        `kill -9 of ${victimAddress} (${moved.length} slices): all back within ${worst} ms; ${movedMarks.size} SliceMoved`
      )
      assert.isAtMost(worst, 8_000)
      await waitFor(
        "a SliceMoved for every moved slice",
        () => moved.every((s) => movedMarks.has(s) || seen.some((i) => i._tag === "SliceMoved" && i.slice === s)),
        10_000
      )
      const afterMove = seen.length
      await waitFor("frames after the move", () => seen.length > afterMove + 50, 10_000)
      await Effect.runPromise(Fiber.interrupt(consumer))
      runners = runners.filter((r) => r !== victim)
    },
    60_000
  )

  it(
    "a runner joining: slices rebalance to it with a gap ≤ 2 s, never two live connections of one slice for more than 1 s",
    async () => {
      const joinedAt = Date.now()
      runners.push(startRunner({ url, port: ports[3]! }))
      await waitFor("3 runners registered", async () => (await registeredRunners(url)) === 3, 30_000)
      // Let the rebalance finish: the newcomer holds slices and every slice is healthy again.
      let spread = new Map<string, Array<number>>()
      await waitFor("slices on the new runner, all healthy", async () => {
        const all = await statuses([...topicOfSlice.keys()], "2 seconds")
        spread = byRunner(all)
        return (spread.get(`127.0.0.1:${ports[3]}`)?.length ?? 0) > 0 && all.every((s) => healthy(s))
      }, 30_000)
      const joined = spread.get(`127.0.0.1:${ports[3]}`)!
      // From the simulator's log: for each slice that moved, the old connection's close → the new one's subscribe.
      const gaps: Array<number> = []
      let overlapMax = 0
      for (const slice of joined) {
        const topic = topicOfSlice.get(slice)!
        const conns = connectionsOfTopic(log, topic).filter((c) => c.openedAt >= joinedAt - 60_000).sort((a, b) =>
          a.openedAt - b.openedAt
        )
        const newest = conns.at(-1)!
        const previous = [...conns].reverse().find((c) => c !== newest && c.openedAt < newest.openedAt)
        if (previous === undefined || previous.closedAt === undefined || previous.closedAt < joinedAt) continue
        gaps.push((newest.subscribedAt ?? newest.openedAt) - previous.closedAt)
        overlapMax = Math.max(overlapMax, previous.closedAt - newest.openedAt)
      }
      console.log(
        `join: ${joined.length} slices moved to the new runner; gap max ${Math.max(...gaps)} ms, ` +
          `median ${[...gaps].sort((a, b) => a - b)[gaps.length >> 1]} ms; overlap max ${overlapMax} ms`
      )
      assert.isAbove(gaps.length, 0)
      assert.isAtMost(Math.max(...gaps), 2_500)
      assert.isAtMost(overlapMax, 1_000)
    },
    60_000
  )

  it("SIGTERM: the runner hands its slices over (gap ≤ 2 s each) and exits within 5 s", async () => {
    const all = await statuses([...topicOfSlice.keys()], "2 seconds")
    const spread = byRunner(all)
    const victim = runners.find((r) => (spread.get(r.address)?.length ?? 0) > 0)!
    const held = spread.get(victim.address)!
    const sentAt = Date.now()
    victim.signal("SIGTERM")
    const exit = await victim.exited
    const exitMs = exit.at - sentAt
    await waitFor("its slices healthy elsewhere", async () => {
      const now = await statuses(held, "1 second")
      return now.every((s) => healthy(s, victim.address))
    }, 20_000)
    const gaps = held.map((slice) => {
      const conns = connectionsOfTopic(log, topicOfSlice.get(slice)!)
      const newest = conns.at(-1)!
      const previous = conns.at(-2)
      return previous?.closedAt === undefined ? 0 : (newest.subscribedAt ?? newest.openedAt) - previous.closedAt
    })
    console.log(
      `SIGTERM: exit ${exitMs} ms (code ${exit.code}); ${held.length} slices, gap max ${Math.max(...gaps)} ms`
    )
    assert.isAtMost(exitMs, 5_000)
    assert.isAtMost(Math.max(...gaps), 2_000)
    runners = runners.filter((r) => r !== victim)
  }, 60_000)

  it(
    "freeze (SIGSTOP 15 s): its slices taken over within 8 s; resumed, it drops its copies within 1 s; the consumer never gets an older activation's frame after a newer one",
    async () => {
      const all = await statuses([...topicOfSlice.keys()], "2 seconds")
      const spread = byRunner(all)
      const victim = runners.find((r) => (spread.get(r.address)?.length ?? 0) > 0)!
      const held = spread.get(victim.address)!
      const { consumer, seen } = consume()
      await waitFor("frames before the freeze", () => seen.length > 100, 10_000)
      const openAtFreeze = new Set([...log.values()].filter((c) => c.closedAt === undefined).map((c) => c.id))
      const stoppedAt = Date.now()
      victim.signal("SIGSTOP")
      let takeoverMs = 0
      await waitFor("its slices live elsewhere", async () => {
        const now = await statuses(held, "500 millis")
        takeoverMs = Date.now() - stoppedAt
        return now.every((s) => healthy(s, victim.address, stoppedAt))
      }, 14_000)
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, 15_000 - (Date.now() - stoppedAt))))
      const resumedAt = Date.now()
      victim.signal("SIGCONT")
      // The frozen runner's old connections of those slices: closed once it sees it lost their shards.
      const heldTopics = new Set(held.map((slice) => topicOfSlice.get(slice)!))
      const stale = () =>
        [...log.values()].filter((c) => openAtFreeze.has(c.id) && c.topics.some((t) => heldTopics.has(t)))
      await waitFor("the resumed runner's copies closed", () => stale().every((c) => c.closedAt !== undefined), 10_000)
      const dropMs = Math.max(...stale().map((c) => c.closedAt! - resumedAt))
      await new Promise((resolve) => setTimeout(resolve, 2_000))
      await Effect.runPromise(Fiber.interrupt(consumer))
      // Per slice, the activations the consumer saw never go back.
      let backwards = 0
      const latest = new Map<number, number>()
      for (const item of seen) {
        if (item._tag !== "Frame") continue
        if (item.activation < (latest.get(item.slice) ?? 0)) backwards++
        latest.set(item.slice, Math.max(item.activation, latest.get(item.slice) ?? 0))
      }
      console.log(
        `freeze of ${victim.address} (${held.length} slices): taken over within ${takeoverMs} ms; ` +
          `copies closed ${dropMs} ms after SIGCONT; ${backwards} frames of an older activation after a newer one`
      )
      assert.isAtMost(takeoverMs, 8_000)
      assert.isAtMost(dropMs, 1_000)
      assert.strictEqual(backwards, 0)
    },
    60_000
  )
})
