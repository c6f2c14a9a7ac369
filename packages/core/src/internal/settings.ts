/**
 * What a connection keeps of its resolved config: its URL on its own, and
 * the rest (`Settings`) in an object that the connections of one manager
 * share when their configs resolve to the same values, as a manager's
 * connections to one venue usually do. A resolved config is an object of
 * seventeen fields, 160 B per connection, and a protocol heartbeat's
 * resolution 48 B more; shared, a thousand connections with one config
 * hold them once. A manager keeps the last settings it made (`SettingsCache`)
 * and hands them out again while configs keep resolving to the same ones.
 */
import type * as Config from "../ConnectionConfig.ts"

/** A resolved config without its URL: what a connection reads of it, beside the URL. */
export type Settings = Omit<Config.Resolved, "url">

/**
 * Every field of `Settings`, each compared by identity (the heartbeat by
 * its fields: it is resolved to a new object per config). Written as a
 * record so that a field added to `Resolved` and left out here fails to
 * compile, rather than being shared between configs that differ in it.
 */
const FIELDS: Record<keyof Settings, true> = {
  protocols: true,
  headers: true,
  heartbeat: true,
  idleTimeout: true,
  reconnect: true,
  minUptime: true,
  shouldReconnect: true,
  connectTimeout: true,
  closeTimeout: true,
  maxPayload: true,
  compression: true,
  capacity: true,
  strategy: true,
  sendBuffer: true,
  sendHighWaterMark: true,
  tls: true
}
const KEYS = Object.keys(FIELDS).filter((key) => key !== "heartbeat") as ReadonlyArray<
  Exclude<keyof Settings, "heartbeat">
>

/** Whether two resolved heartbeats are the same: same kind, same durations, the same payload or functions. */
const sameHeartbeat = (a: Config.ResolvedHeartbeat, b: Config.ResolvedHeartbeat): boolean => {
  if (a === b) return true
  switch (a._tag) {
    case "None":
      return b._tag === "None"
    case "Protocol":
      return b._tag === "Protocol" && a.interval === b.interval && a.timeout === b.timeout && a.payload === b.payload
    case "Message":
      return b._tag === "Message" && a.interval === b.interval && a.timeout === b.timeout &&
        a.message === b.message && a.isPong === b.isPong && a.deliverPongs === b.deliverPongs
  }
}

/** Whether `cfg` resolves to exactly `settings`: every field identical. */
export const sameSettings = (settings: Settings, cfg: Config.Resolved): boolean => {
  for (let i = 0; i < KEYS.length; i++) {
    const key = KEYS[i]!
    if (settings[key] !== cfg[key]) return false
  }
  return sameHeartbeat(settings.heartbeat, cfg.heartbeat)
}

/** The settings of `cfg`, as an object of their own (without the URL). */
export const settingsOf = (cfg: Config.Resolved): Settings => {
  const { url: _url, ...settings } = cfg
  return settings
}

/**
 * One manager's last settings: `of` gives them again for a config that
 * resolves to the same, and otherwise makes and keeps new ones. Only the
 * last, so it holds one config's values however many the manager has seen;
 * it lives as long as its manager.
 */
export class SettingsCache {
  private last: Settings | undefined = undefined

  of(cfg: Config.Resolved): Settings {
    const last = this.last
    if (last !== undefined && sameSettings(last, cfg)) return last
    return this.last = settingsOf(cfg)
  }
}
