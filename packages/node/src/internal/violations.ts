/**
 * How the Node transport reads a protocol violation from `ws`: its
 * documented `WS_ERR_*` error codes (and zlib's, with compression on),
 * mapped to the close code the session ends with.
 */

/**
 * The close code of each protocol violation `ws` reports, by the error's
 * documented `.code`: the code `ws` itself closes the socket with
 * (RFC 6455 §7.4.1). 1009: too big; 1007: not UTF-8; 1008: too many
 * fragments; 1002: a malformed frame.
 */
const violationCodes: ReadonlyMap<string, number> = new Map([
  ["WS_ERR_UNSUPPORTED_MESSAGE_LENGTH", 1009],
  ["WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH", 1009],
  ["WS_ERR_INVALID_UTF8", 1007],
  ["WS_ERR_TOO_MANY_BUFFERED_PARTS", 1008],
  ["WS_ERR_EXPECTED_FIN", 1002],
  ["WS_ERR_EXPECTED_MASK", 1002],
  ["WS_ERR_UNEXPECTED_MASK", 1002],
  ["WS_ERR_INVALID_OPCODE", 1002],
  ["WS_ERR_INVALID_CLOSE_CODE", 1002],
  ["WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH", 1002],
  ["WS_ERR_UNEXPECTED_RSV_1", 1002],
  ["WS_ERR_UNEXPECTED_RSV_2_3", 1002]
])

/**
 * The close code of a protocol violation, from the public `.code` of the
 * error `ws` emitted; `undefined` for any other error. A `WS_ERR_*` code
 * this table does not know (a later `ws`) is a malformed frame, 1002. A
 * zlib error (`Z_*`, only with compression on) is a compressed message that
 * does not inflate, which `ws` closes with 1007 (`ws` reports a failure to
 * deflate an outbound message the same way; rare, it reads the same). Before
 * the handshake completes `ws` emits none of these codes.
 */
export const violationCodeOf = (error: Error): number | undefined => {
  const code = (error as NodeJS.ErrnoException).code
  if (typeof code !== "string") return undefined
  return violationCodes.get(code) ??
    (code.startsWith("WS_ERR_") ? 1002 : code.startsWith("Z_") ? 1007 : undefined)
}

/** `Retry-After` as milliseconds: delta-seconds or an HTTP date. */
