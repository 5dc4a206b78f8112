// Dead letters: rejected input kept with where it was and why. Each one fits in a row that every
// store accepts (D1 refuses rows over 2 MB): longer raw input is cut, and the whole input's size and
// sha256 are kept with it, so what was sent can still be identified and matched.
import { sha256Hex } from './hash.js'
import type { DeadLetter } from './types.js'

export type Letter = Omit<DeadLetter, 'receivedAt'>

/** Raw text kept per dead letter, in UTF-16 code units (at most 3 UTF-8 bytes each: under 1 MB). */
export const RAW_KEPT_CHARS = 256 * 1024
/** Raw bytes kept per dead letter when they are not text (base64 makes them a third longer). */
export const RAW_KEPT_BYTES = 192 * 1024

const encoder = new TextEncoder()

/** A dead letter for text input, cut to RAW_KEPT_CHARS; `bytes`, when given, are the text's UTF-8. */
export async function textLetter(
  position: string,
  reason: string,
  contentType: string,
  raw: string,
  bytes?: Uint8Array,
): Promise<Letter> {
  if (raw.length <= RAW_KEPT_CHARS) return { position, reason, contentType, raw }
  let end = RAW_KEPT_CHARS
  // Never split a surrogate pair.
  if (isHighSurrogate(raw.charCodeAt(end - 1))) end--
  return {
    position,
    reason,
    contentType,
    raw: raw.slice(0, end),
    truncated: await wholeOf(bytes ?? encoder.encode(raw)),
  }
}

/** A dead letter for bytes that are not UTF-8 text: `base64:` and the first RAW_KEPT_BYTES. */
export async function bytesLetter(
  position: string,
  reason: string,
  contentType: string,
  bytes: Uint8Array,
): Promise<Letter> {
  const kept = bytes.subarray(0, RAW_KEPT_BYTES)
  const letter: Letter = { position, reason, contentType, raw: 'base64:' + toBase64(kept) }
  if (kept.byteLength < bytes.byteLength) letter.truncated = await wholeOf(bytes)
  return letter
}

/** What identifies the whole input of a cut dead letter. */
async function wholeOf(bytes: Uint8Array): Promise<{ bytes: number; sha256: string }> {
  return { bytes: bytes.byteLength, sha256: await sha256Hex(bytes) }
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff
}

function toBase64(bytes: Uint8Array): string {
  let s = ''
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
  return btoa(s)
}
