// The device's key: ECDSA P-256 from WebCrypto. Signatures are raw r||s (64 bytes), base64url without
// padding; the key is named by its RFC 7638 JWK thumbprint. The private key never leaves the device.
import { base64url, fromBase64url, utf8 } from './encoding.js'

const KEY_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' } as const
const SIGN_ALGORITHM = { name: 'ECDSA', hash: 'SHA-256' } as const

/** A P-256 public key as the server receives it. */
export interface PublicJwk {
  kty: 'EC'
  crv: 'P-256'
  x: string
  y: string
}

/** `extractable` applies to the private key only (a public key can always be exported). */
export function generateKeyPair(extractable: boolean): Promise<CryptoKeyPair> {
  return crypto.subtle.generateKey(KEY_ALGORITHM, extractable, ['sign', 'verify']) as Promise<CryptoKeyPair>
}

export async function publicJwk(publicKey: CryptoKey): Promise<PublicJwk> {
  const jwk = await crypto.subtle.exportKey('jwk', publicKey)
  if (jwk.kty !== 'EC' || jwk.crv !== 'P-256' || !jwk.x || !jwk.y)
    throw new TypeError('not a P-256 public key')
  return { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y }
}

/** RFC 7638: the required members in lexicographic order, no whitespace, SHA-256, base64url. */
export async function thumbprint(jwk: PublicJwk): Promise<string> {
  const canonical = `{"crv":"P-256","kty":"EC","x":"${jwk.x}","y":"${jwk.y}"}`
  return base64url(await crypto.subtle.digest('SHA-256', utf8(canonical)))
}

export async function sign(privateKey: CryptoKey, message: string): Promise<string> {
  return base64url(await crypto.subtle.sign(SIGN_ALGORITHM, privateKey, utf8(message)))
}

/** For servers and tests: false (never a throw) for a malformed key or signature. */
export async function verify(jwk: PublicJwk, message: string, signature: string): Promise<boolean> {
  try {
    const key = await crypto.subtle.importKey('jwk', { ...jwk, ext: true }, KEY_ALGORITHM, false, ['verify'])
    const bytes = fromBase64url(signature)
    if (bytes.length !== 64) return false
    return await crypto.subtle.verify(SIGN_ALGORITHM, key, bytes, utf8(message))
  } catch {
    return false
  }
}

/** What the enrolment signs. `timestamp` is epoch ms. */
export const enrolMessage = (timestamp: number, keyThumbprint: string): string =>
  `edgewatch-enrol\n${timestamp}\n${keyThumbprint}`

/** What a token request signs. */
export const tokenMessage = (deviceId: string, challenge: string): string =>
  `edgewatch-token\n${deviceId}\n${challenge}`
