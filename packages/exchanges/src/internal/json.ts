/**
 * Small, allocation-light readers for venue control messages (acks, errors,
 * notices) that are matched on every inbound text frame: parse once, read a
 * field with its type checked, never cast. Market data itself is decoded
 * with `Schema` in each venue's module.
 */

/** A JSON object, or undefined when the text is not one. */
export const parseObject = (text: string): Readonly<Record<string, unknown>> | undefined => {
  if (text.length === 0 || text.charCodeAt(0) !== 123 /* { */) return undefined
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return undefined
  }
  return isRecord(value) ? value : undefined
}

/** Whether a value is a plain JSON object. */
export const isRecord = (value: unknown): value is Readonly<Record<string, unknown>> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/** A string field, or undefined. */
export const str = (o: Readonly<Record<string, unknown>> | undefined, key: string): string | undefined => {
  const v = o?.[key]
  return typeof v === "string" ? v : undefined
}

/** A numeric field (a JSON number, or a string of digits), or undefined. */
export const num = (o: Readonly<Record<string, unknown>> | undefined, key: string): number | undefined => {
  const v = o?.[key]
  if (typeof v === "number") return v
  if (typeof v === "string" && /^-?\d+$/.test(v)) return Number(v)
  return undefined
}

/** A finite number from a JSON number or numeric string (a server time, an epoch), or undefined. */
export const finite = (v: unknown): number | undefined => {
  const n = typeof v === "number" || typeof v === "string" ? Number(v) : Number.NaN
  return Number.isFinite(n) ? n : undefined
}

/** A nested object field, or undefined. */
export const obj = (
  o: Readonly<Record<string, unknown>> | undefined,
  key: string
): Readonly<Record<string, unknown>> | undefined => {
  const v = o?.[key]
  return isRecord(v) ? v : undefined
}

/** An array field, or an empty array. */
export const arr = (o: Readonly<Record<string, unknown>> | undefined, key: string): ReadonlyArray<unknown> => {
  const v = o?.[key]
  return Array.isArray(v) ? v : []
}

/**
 * Scanning without parsing, for fast paths over machine-written JSON whose
 * shape is known: the non-negative integer right after `key` (a key with
 * its quotes and colon, e.g. `"t":`), searching from `from`, or undefined
 * when the key is absent or not followed by digits.
 */
export const intAfter = (text: string, key: string, from = 0): number | undefined => {
  const at = text.indexOf(key, from)
  if (at < 0) return undefined
  let i = at + key.length
  let n = 0
  const start = i
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c < 48 || c > 57) break
    n = n * 10 + (c - 48)
  }
  return i === start || i - start > 15 ? undefined : n
}

/** The string right after `key` (e.g. `"s":"`, opening quote included) up to the next quote, or undefined. */
export const stringAfter = (text: string, key: string, from = 0): string | undefined => {
  const at = text.indexOf(key, from)
  if (at < 0) return undefined
  const start = at + key.length
  const end = text.indexOf('"', start)
  if (end < 0) return undefined
  const value = text.slice(start, end)
  return value.includes("\\") ? undefined : value
}
