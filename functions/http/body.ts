// Request bodies with a size limit, applied to the decompressed bytes too (gzip bombs stop at the limit).
import { ApiError } from './errors.js'

const tooLarge = (limit: number) =>
  new ApiError(413, 'payload_too_large', `request body is larger than the limit of ${limit} bytes`, { limit })

/** Reads the whole body (gunzipping it when Content-Encoding says gzip), at most `limit` bytes. */
export async function readBody(req: Request, limit: number): Promise<Uint8Array> {
  const declared = Number(req.headers.get('content-length') ?? Number.NaN)
  if (declared > limit) throw tooLarge(limit)
  const encoding = (req.headers.get('content-encoding') ?? 'identity').trim().toLowerCase()
  if (!req.body) return new Uint8Array(0)
  if (encoding === 'identity' || encoding === '') {
    if (Number.isFinite(declared)) return new Uint8Array(await req.arrayBuffer())
    return collect(req.body, limit)
  }
  if (encoding !== 'gzip' && encoding !== 'x-gzip') {
    throw new ApiError(
      415,
      'unsupported_encoding',
      `Content-Encoding ${encoding} is not supported; use gzip or none`,
    )
  }
  try {
    return await collect(req.body.pipeThrough(new DecompressionStream('gzip')), limit)
  } catch (e) {
    if (e instanceof ApiError) throw e
    throw new ApiError(
      400,
      'invalid_gzip',
      `the gzip body could not be decompressed: ${(e as Error).message}`,
    )
  }
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
