/**
 * The browser dashboard in a real browser: starts `node src/main.ts --web 0`
 * (the simulator embedded, its faults on schedule), opens the page in
 * headless Chromium (Debian's `chromium`, driven by `playwright-core`:
 * Playwright's own browser download cannot work here), and checks that the
 * page lists the nine connections, shows an injected fault and then its
 * recovery. Saves a screenshot to `test-output/dashboard.png`. Every process
 * it starts is ended in a `finally`.
 */
import { assert, describe, it } from "@effect/vitest"
import { type ChildProcess, spawn } from "node:child_process"
import { existsSync, mkdirSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { type Browser, chromium } from "playwright-core"

const demoDir = fileURLToPath(new URL("..", import.meta.url))
const executablePath = process.env["CHROMIUM_PATH"] ?? "/usr/bin/chromium"
const outputDir = fileURLToPath(new URL("../test-output/", import.meta.url))

/** Starts the demo; resolves with the dashboard's address once it prints it. */
const startDemo = (child: ChildProcess, output: () => string) =>
  new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no dashboard address within 15 s:\n${output()}`)), 15_000)
    const check = () => {
      const found = /^dashboard: (http:\/\/127\.0\.0\.1:\d+\/)$/m.exec(output())
      if (found !== null) {
        clearTimeout(timer)
        resolve(found[1]!)
      }
    }
    child.stdout!.on("data", check)
    child.once("exit", (code) => {
      clearTimeout(timer)
      reject(new Error(`the demo exited (${code}) before serving the dashboard:\n${output()}`))
    })
  })

const exited = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode)
    else child.once("exit", (code) => resolve(code))
  })

describe("browser dashboard", () => {
  it("shows every connection, an injected fault and its recovery, live; screenshot saved", async () => {
    assert.isTrue(
      existsSync(executablePath),
      `Chromium not found at ${executablePath}. Install Debian's chromium (apt-get install -y chromium) ` +
        "or set CHROMIUM_PATH to a Chromium binary."
    )
    const started = performance.now()
    let out = ""
    const demo = spawn(process.execPath, ["src/main.ts", "--duration", "20", "--web", "0"], {
      cwd: demoDir,
      stdio: ["ignore", "pipe", "pipe"]
    })
    demo.stdout!.on("data", (chunk: Buffer) => (out += chunk.toString()))
    demo.stderr!.on("data", (chunk: Buffer) => (out += chunk.toString()))
    let browser: Browser | undefined
    try {
      const url = await startDemo(demo, () => out)
      browser = await chromium.launch({
        executablePath,
        args: [
          "--headless",
          "--no-sandbox",
          "--disable-gpu",
          "--disable-quic",
          "--no-first-run",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync"
        ]
      })
      const page = await browser.newPage({ viewport: { width: 1440, height: 660 } })
      await page.goto(url)

      // Every connection has a row, and they open.
      await page.waitForFunction("document.querySelectorAll('#rows tr').length === 9", null, { timeout: 10_000 })
      const names = await page.$$eval("#rows tr", (rows) => rows.map((row) => row.getAttribute("data-connection")))
      for (const name of ["binance-btc", "okx-eth", "bybit-btc", "coinbase-btc", "kraken-btc", "hyperliquid-btc"]) {
        assert.include(names, name)
      }
      await page.waitForSelector("#rows tr[data-connection='binance-btc'][data-state='Open']", { timeout: 10_000 })

      // The first scheduled fault (a TCP cut on binance, 2.4 s in) appears, and then its recovery.
      const fault = page.locator("#timeline li[data-kind='fault'][data-connection='binance-btc']", {
        hasText: "injected: drop"
      })
      await fault.first().waitFor({ timeout: 15_000 })
      const recovered = page.locator("#timeline li[data-kind='recovered'][data-connection='binance-btc']", {
        hasText: "recovered from drop"
      })
      await recovered.first().waitFor({ timeout: 15_000 })
      await page.waitForSelector("#rows tr[data-connection='binance-btc'][data-state='Open']", { timeout: 10_000 })
      assert.isAtLeast(
        Number(await page.$eval("#rows tr[data-connection='binance-btc'] td:nth-child(7)", (td) => td.textContent)),
        1,
        "binance-btc's reconnects count the recovery"
      )

      // A few more faults and recoveries (okx's close 4000 is the fifth, 7.2 s in), then the picture.
      await page.locator("#timeline li[data-kind='recovered'][data-connection='okx-btc']", {
        hasText: "recovered from close 4000"
      }).first().waitFor({ timeout: 20_000 })
      await page.waitForTimeout(1500)
      mkdirSync(outputDir, { recursive: true })
      await page.screenshot({ path: `${outputDir}dashboard.png` })

      // The JSON snapshot agrees with the page.
      const snapshot = await (await fetch(`${url}api/snapshot`)).json() as {
        readonly totals: { readonly connections: number; readonly reconnects: number }
      }
      assert.strictEqual(snapshot.totals.connections, 9)
      assert.isAtLeast(snapshot.totals.reconnects, 3)
    } finally {
      await browser?.close().catch(() => undefined)
      if (demo.exitCode === null && demo.signalCode === null) {
        demo.kill("SIGINT")
        const timer = setTimeout(() => demo.kill("SIGKILL"), 5_000)
        await exited(demo)
        clearTimeout(timer)
      }
    }
    assert.isBelow(performance.now() - started, 60_000)
  }, 90_000)
})
