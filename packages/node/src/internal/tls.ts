/**
 * The TLS options of the Node transport's dials: a connection's own `tls`
 * merged over the layer's, parsed into a secure context once per
 * connection's settings.
 */
import type { Transport } from "@kharbranth/core"
import * as Redacted from "effect/Redacted"
import * as tls from "node:tls"
import type { TlsOptions } from "../NodeTransport.ts"

const reveal = <A>(value: A | Redacted.Redacted<A> | undefined): A | undefined =>
  value === undefined ? undefined : Redacted.isRedacted(value) ? Redacted.value(value) : value

// Node's TLS takes any Uint8Array where its types say Buffer.
const pemList = (ca: Transport.Pem | ReadonlyArray<Transport.Pem> | undefined): tls.SecureContextOptions["ca"] =>
  (Array.isArray(ca) ? ca.slice() : ca) as tls.SecureContextOptions["ca"]

/** A secure context; what Node's TLS rejects (a wrong passphrase, say) throws, named as TLS settings, code kept. */
const secureContextOf = (options: tls.SecureContextOptions): tls.SecureContext => {
  try {
    return tls.createSecureContext(options)
  } catch (cause) {
    const error = new Error(`TLS settings rejected: ${cause instanceof Error ? cause.message : String(cause)}`)
    const code = (cause as NodeJS.ErrnoException).code
    if (code !== undefined) Object.assign(error, { code })
    throw error
  }
}

/**
 * The TLS options of each dial: a connection's `tls` merged over the
 * layer's (see `TlsOptions`), with the certificates parsed into a secure
 * context once per connection's settings, at its first dial, not at every
 * reconnect. Keyed by the connection's `tls` object, which `ConnectionConfig`
 * keeps for the connection's life.
 */
export class TlsMerge {
  private readonly layer: TlsOptions
  private readonly merged = new WeakMap<Transport.TlsOptions, tls.ConnectionOptions>()
  private layerOnly: tls.ConnectionOptions | undefined = undefined

  constructor(layer: TlsOptions) {
    this.layer = layer
  }

  /** The options for a dial; throws if the TLS stack rejects the certificates or key. */
  optionsFor(own: Transport.TlsOptions | undefined): tls.ConnectionOptions {
    if (own === undefined) return this.layerOnly ??= this.merge(undefined)
    let options = this.merged.get(own)
    if (options === undefined) this.merged.set(own, options = this.merge(own))
    return options
  }

  private merge(own: Transport.TlsOptions | undefined): tls.ConnectionOptions {
    const layer = this.layer
    // The client identity is one whole: the connection's, or else the layer's.
    const identity = own !== undefined && (own.cert !== undefined || own.key !== undefined) ? own : layer
    const context: tls.SecureContextOptions = {}
    const ca = pemList(own?.ca ?? layer.ca)
    const cert = identity.cert
    const key = reveal<string | Uint8Array>(identity.key)
    const passphrase = reveal(identity.passphrase)
    if (ca !== undefined) context.ca = ca
    if (cert !== undefined) context.cert = cert as string | Buffer
    if (key !== undefined) context.key = key as string | Buffer
    if (passphrase !== undefined) context.passphrase = passphrase
    const servername = own?.servername ?? layer.servername
    return {
      rejectUnauthorized: own?.rejectUnauthorized ?? layer.rejectUnauthorized ?? true,
      ...(servername === undefined ? {} : { servername }),
      // No context of our own when nothing needs one: Node's default, with the system store.
      ...(Object.keys(context).length === 0 ? {} : { secureContext: secureContextOf(context) })
    }
  }
}
