// Idempotency-Key for a batch that shards answer in parts. Each shard stores its part's answer under
// its own key, `<key>~shard<i>` (a key too long for the suffix is replaced by its SHA-256 first), so
// a retried batch is answered part by part from what each shard stored, and a part that failed the
// first time is stored now: every record once. Two checks keep "the same key with another body is
// refused (422)" true across parts:
// - each part carries, in trailing blank space the parser skips, a fingerprint of the whole batch,
//   so a part's stored body hash matches only when the whole batch is the same;
// - before anything is sent, the parts stored under the key are compared with the parts this batch
//   makes: one that differs, or one stored for a shard this batch does not reach, is a reused key.
// What this cannot see: two different batches with the same key sent at the same moment, each
// reaching a shard the other does not; one writer would have refused the second.
import { sha256Hex } from '../domain/hash.js'
import { ApiError } from '../http/errors.js'
import type { IdempotentAnswer } from '../store/port.js'

/** As the Ingestor checks it: 1-200 visible ASCII characters. */
export const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,200}$/
const encoder = new TextEncoder()

/** The key a shard stores its part's answer under. */
export async function partKey(key: string, shard: number): Promise<string> {
  const suffix = `~shard${shard}`
  const base = key.length + suffix.length <= 200 ? key : await sha256Hex(encoder.encode(key))
  return base + suffix
}

/** 64 bits of the batch's SHA-256 written as blanks and tabs: JSON and NDJSON both skip them. */
export async function fingerprint(batch: Uint8Array): Promise<string> {
  const hex = await sha256Hex(batch)
  let out = '\n'
  for (const digit of hex.slice(0, 16)) {
    const n = Number.parseInt(digit, 16)
    for (let bit = 3; bit >= 0; bit--) out += (n >> bit) & 1 ? '\t' : ' '
  }
  return out
}

/** The body hash a shard stores for a part it is sent (the Ingestor hashes the bytes it reads). */
export function partHash(body: string | Uint8Array): Promise<string> {
  return sha256Hex(typeof body === 'string' ? encoder.encode(body) : body)
}

/**
 * Whether the key's stored parts are not this batch's parts (`hashes`: the body hash of the part
 * this batch sends each shard): one writer answers that with 422 (keyReused).
 */
export function reusedKey(stored: (IdempotentAnswer | undefined)[], hashes: Map<number, string>): boolean {
  return stored.some((s, shard) => {
    if (!s) return false
    const hash = hashes.get(shard)
    return hash === undefined || (s.bodyHash !== null && s.bodyHash !== hash)
  })
}

/** The Ingestor's own refusal of a reused key (domain/ingest.ts), in its words. */
export function keyReused(): ApiError {
  return new ApiError(
    422,
    'idempotency_key_reused',
    'this Idempotency-Key was used with a different body; use a new key for new records',
  )
}
