// Request bodies with a size limit, applied to the decompressed bytes too (gzip bombs stop at the limit).
import { ApiError } from './errors.js'

export interface Body {
  /** The body as sent, decompressed; the compressed bytes when they could not be decompressed. */
  bytes: Uint8Array
  /** Set when the bytes could not be decoded as sent (a broken gzip stream). */
  unreadable?: { code: string; message: string }
}

const tooLarge = (limit: number) =>
  new ApiError(413, 'payload_too_large', `request body is larger than the limit of ${limit} bytes`, { limit })

/**
 * Reads the whole body, at most `limit` bytes, gunzipping it when Content-Encoding says gzip. A
 * gzip body is read whole first (it is at most `limit` bytes too), so that when it turns out to be
 * broken its bytes can still be kept as a dead letter.
 */
export async function readBody(req: Request, limit: number): Promise<Body> {
  const declared = Number(req.headers.get('content-length') ?? Number.NaN)
  if (declared > limit) throw tooLarge(limit)
  const encoding = (req.headers.get('content-encoding') ?? 'identity').trim().toLowerCase()
  if (encoding !== 'identity' && encoding !== '' && encoding !== 'gzip' && encoding !== 'x-gzip') {
    throw new ApiError(
      415,
      'unsupported_encoding',
      `Content-Encoding ${encoding.slice(0, 40)} is not supported; use gzip or none`,
    )
  }
  if (!req.body) return { bytes: new Uint8Array(0) }
  const bytes = await collect(req.body, limit)
  if (encoding === 'identity' || encoding === '') return { bytes }
  try {
    const gunzip = new DecompressionStream('gzip') as unknown as ReadableWritablePair<Uint8Array, Uint8Array>
    return { bytes: await collect(streamOf(bytes).pipeThrough(gunzip), limit) }
  } catch (e) {
    if (e instanceof ApiError) throw e
    const message = `the gzip body could not be decompressed: ${(e as Error).message}`
    return { bytes, unreadable: { code: 'invalid_gzip', message } }
  }
}

function streamOf(bytes: Uint8Array): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      controller.enqueue(bytes)
      controller.close()
    },
  })
}

async function collect(stream: ReadableStream<Uint8Array>, limit: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = []
  let size = 0
  const reader = stream.getReader()
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > limit) {
      await reader.cancel().catch(() => {})
      throw tooLarge(limit)
    }
    chunks.push(value)
  }
  if (chunks.length === 1) return chunks[0]!
  const out = new Uint8Array(size)
  let at = 0
  for (const c of chunks) {
    out.set(c, at)
    at += c.byteLength
  }
  return out
}

const decoder = new TextDecoder('utf-8', { fatal: true })

/** Decodes UTF-8, or undefined when the bytes are not valid UTF-8. */
export function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return decoder.decode(bytes)
  } catch {
    return undefined
  }
}
