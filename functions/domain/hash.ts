// SHA-256 as lowercase hex: the hash the server stores for tokens, for idempotent bodies and for the
// whole input of a cut dead letter. WebCrypto by default (every runtime has it). A runtime with a
// cheaper synchronous one installs it at start (Node's node:crypto: no thread-pool round trip, which
// costs ~100 µs per call on WebCrypto; a busy fleet hashes a token and a body per request).
export type Sha256 = (bytes: Uint8Array) => string | Promise<string>

let sha256: Sha256 = webCryptoSha256

/** Replaces the implementation (the Node entry installs node:crypto's). */
export function useSha256(implementation: Sha256): void {
  sha256 = implementation
}

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  return sha256(bytes)
}

async function webCryptoSha256(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>))
  let hex = ''
  for (const b of digest) hex += b.toString(16).padStart(2, '0')
  return hex
}
