/**
 * Keeps secrets out of errors, events, logs and stats: URLs are shown with
 * their credentials (user info, and query parameters that look like keys or
 * signatures) replaced by `***`.
 */

const SECRET_PARAM = /(key|token|secret|sign|signature|pass|password|passphrase|auth|credential)/i

/** The URL as it may be shown to a person: no password, no API key. */
export const redactUrl = (url: string): string => {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    // Not a URL: show nothing that could be a secret.
    return url.replace(/\/\/[^/@]*@/, "//***@").replace(/([?&][^=&]*=)[^&]*/g, "$1***")
  }
  let changed = false
  if (parsed.username !== "" || parsed.password !== "") {
    parsed.username = "***"
    parsed.password = ""
    changed = true
  }
  for (const name of Array.from(parsed.searchParams.keys())) {
    if (SECRET_PARAM.test(name)) {
      parsed.searchParams.set(name, "***")
      changed = true
    }
  }
  return changed ? parsed.toString() : url
}

/** The secret parts of a URL: its user name, password and key-like query values. */
const secretsOf = (url: string): Array<string> => {
  if (!URL.canParse(url)) return []
  const parsed = new URL(url)
  const secrets: Array<string> = []
  for (const part of [parsed.username, parsed.password]) {
    if (part !== "") secrets.push(part, decodeURIComponent(part))
  }
  for (const [name, value] of parsed.searchParams) {
    if (SECRET_PARAM.test(name) && value !== "") secrets.push(value, encodeURIComponent(value))
  }
  return secrets.filter((s) => s.length > 0).sort((a, b) => b.length - a.length)
}

/** `text` (an error message from a socket library, say) with the URL's secrets replaced by `***`. */
export const redactIn = (url: string, text: string): string => {
  let out = text.split(url).join(redactUrl(url))
  for (const secret of secretsOf(url)) out = out.split(secret).join("***")
  return out
}
