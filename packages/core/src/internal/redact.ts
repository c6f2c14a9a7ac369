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
