/**
 * Half-open for real: the server and the client run in two network
 * namespaces this test creates, joined by a veth pair on a private /30 that
 * exists only inside them. Taking the link down drops every packet both
 * ways with no RST and no FIN — the TCP connection stays "open" — and only
 * the heartbeat can notice. When the link comes back the connection
 * recovers. Where namespaces cannot be created (not root), the test is
 * skipped and says why.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { spawn, spawnSync } from "node:child_process"
import { eventually } from "./utils/peers.ts"

const suffix = String(process.pid % 100000)
const nsServer = `kh-srv-${suffix}`
const nsClient = `kh-cli-${suffix}`
const vethServer = `khs${suffix}`
const vethClient = `khc${suffix}`
const serverAddress = "10.213.7.1"
const clientAddress = "10.213.7.2"

const run = (...args: Array<string>) => {
  const result = spawnSync(args[0]!, args.slice(1), { encoding: "utf8" })
  if (result.status !== 0) throw new Error(`${args.join(" ")}: ${result.stderr || result.error?.message}`)
}

const cannotCreate = (() => {
  if (process.platform !== "linux") return "namespaces need Linux"
  const probe = spawnSync("ip", ["netns", "add", `kh-probe-${suffix}`], { encoding: "utf8" })
  if (probe.status !== 0) {
    return `cannot create a network namespace here: ${(probe.stderr || probe.error?.message || "").trim()}`
  }
  spawnSync("ip", ["netns", "del", `kh-probe-${suffix}`])
  return undefined
})()
if (cannotCreate !== undefined) console.log(`netns test skipped: ${cannotCreate}`)

/** Two namespaces joined by a veth pair; removed when the scope closes. */
const namespaces = Effect.acquireRelease(
  Effect.sync(() => {
    run("ip", "netns", "add", nsServer)
    run("ip", "netns", "add", nsClient)
    run("ip", "link", "add", vethServer, "type", "veth", "peer", "name", vethClient)
    run("ip", "link", "set", vethServer, "netns", nsServer)
    run("ip", "link", "set", vethClient, "netns", nsClient)
    run("ip", "-n", nsServer, "addr", "add", `${serverAddress}/30`, "dev", vethServer)
    run("ip", "-n", nsClient, "addr", "add", `${clientAddress}/30`, "dev", vethClient)
    for (const [ns, dev] of [[nsServer, vethServer], [nsClient, vethClient]] as const) {
      run("ip", "-n", ns, "link", "set", "lo", "up")
      run("ip", "-n", ns, "link", "set", dev, "up")
    }
  }),
  () =>
    Effect.sync(() => {
      spawnSync("ip", ["netns", "del", nsServer])
      spawnSync("ip", ["netns", "del", nsClient])
    })
)

/** A process inside a namespace; its stdout lines are collected; killed with the scope. */
const inNamespace = (ns: string, args: ReadonlyArray<string>) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const lines: Array<{ readonly at: number; readonly line: string }> = []
      const child = spawn("ip", ["netns", "exec", ns, process.execPath, ...args], {
        stdio: ["ignore", "pipe", "inherit"]
      })
      let buffer = ""
      child.stdout.setEncoding("utf8")
      child.stdout.on("data", (chunk: string) => {
        buffer += chunk
        let nl: number
        while ((nl = buffer.indexOf("\n")) >= 0) {
          lines.push({ at: performance.now(), line: buffer.slice(0, nl) })
          buffer = buffer.slice(nl + 1)
        }
      })
      return { lines, child }
    }),
    ({ child }) => Effect.sync(() => child.kill("SIGKILL"))
  )

const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url).pathname

describe("half-open in a network namespace", () => {
  it.live.skipIf(cannotCreate !== undefined)(
    "a link that drops everything is detected by the heartbeat within interval + timeout + 10%, then recovered",
    () =>
      Effect.gen(function*() {
        yield* namespaces
        const server = yield* inNamespace(nsServer, [fixture("feed-server.mjs"), "9000", "50", "true", serverAddress])
        yield* eventually("server listening", () => server.lines.some((l) => l.line.startsWith("listening")), 10_000)
        const client = yield* inNamespace(nsClient, [
          fixture("netns-client.ts"),
          `ws://${serverAddress}:9000`,
          "1000",
          "1000"
        ])
        const seen = (tag: string, after = 0) =>
          client.lines.find((l) => l.at >= after && l.line.includes(`"tag":"${tag}"`))
        yield* eventually("client open", () => seen("Opened") !== undefined, 15_000)

        run("ip", "-n", nsServer, "link", "set", vethServer, "down")
        const cutAt = performance.now()
        yield* eventually("heartbeat timeout", () => seen("Disconnected", cutAt) !== undefined, 10_000)
        const detected = seen("Disconnected", cutAt)!
        assert.include(detected.line, "HeartbeatTimeout")
        const elapsed = detected.at - cutAt
        console.log(`half-open link detected after ${Math.round(elapsed)} ms (deadline 2200 ms)`)
        assert.isAtMost(elapsed, 2000 * 1.1)

        run("ip", "-n", nsServer, "link", "set", vethServer, "up")
        const healedAt = performance.now()
        yield* eventually("reopened", () => seen("Opened", healedAt) !== undefined, 15_000)
      }),
    60_000
  )
})
