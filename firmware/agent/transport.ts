// The agent's only way to the server: one request in, one answer out. A direct transport is fetch;
// a relay transport (relay.ts) bundles many agents' requests into one. Header names are lower case.
// Bodies are text, except an answer asked for as bytes (an app module): only the direct transport
// carries those (a relay passes such requests straight through to its upstream).

export interface TransportRequest {
  method: string
  /** Absolute path with query, e.g. `/v1/ingest`. */
  path: string
  headers: Record<string, string>
  body?: string
  /** `bytes`: the answer's body comes as `bodyBytes` (and `body` holds it as text only for a non-2xx). */
  responseType?: 'text' | 'bytes'
  /** The largest answer body taken for a bytes request: past it the request fails with BodyTooLargeError. */
  maxBodyBytes?: number
}

export interface TransportResponse {
  status: number
  headers: Record<string, string>
  body: string
  /** For `responseType: 'bytes'`. */
  bodyBytes?: Uint8Array
}

export interface Transport {
  /** Answers whatever HTTP status the server gave; throws (TransportError, or the abort reason) when no answer came. */
  send(request: TransportRequest, signal?: AbortSignal): Promise<TransportResponse>
}

/** No answer: the network is down, the server unreachable, or the request timed out. */
export class TransportError extends Error {
  override name = 'TransportError'
}

/** An answer body larger than the request's maxBodyBytes: the server answered, but not something usable. */
export class BodyTooLargeError extends Error {
  override name = 'BodyTooLargeError'
}

/** The part of fetch a transport needs; global fetch fits, and so does a fake server. */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>

export interface DirectTransportOptions {
  /** Give up on a request after this long (default 30 s). */
  timeoutMs?: number
}

export function directTransport(
  baseUrl: string,
  fetchFn: FetchLike = (url, init) => fetch(url, init),
  options: DirectTransportOptions = {},
): Transport {
  const base = baseUrl.replace(/\/+$/, '')
  const timeoutMs = options.timeoutMs ?? 30_000
  return {
    async send(request, signal) {
      signal?.throwIfAborted()
      const controller = new AbortController()
      const onAbort = () => controller.abort(signal?.reason)
      signal?.addEventListener('abort', onAbort, { once: true })
      const timer = setTimeout(
        () => controller.abort(new TransportError(`no answer within ${timeoutMs} ms`)),
        timeoutMs,
      )
      try {
        const res = await fetchFn(base + request.path, {
          method: request.method,
          headers: request.headers,
          body: request.body,
          signal: controller.signal,
        })
        const headers: Record<string, string> = {}
        res.headers.forEach((value, name) => {
          headers[name.toLowerCase()] = value
        })
        if (request.responseType === 'bytes') {
          const bytes = await readBytes(res, request.maxBodyBytes ?? Number.POSITIVE_INFINITY)
          const ok = res.status >= 200 && res.status < 300
          const body = ok ? '' : new TextDecoder().decode(bytes.subarray(0, 64 * 1024))
          return { status: res.status, headers, body, bodyBytes: bytes }
        }
        return { status: res.status, headers, body: await res.text() }
      } catch (e) {
        if (signal?.aborted) throw signal.reason
        if (e instanceof TransportError || e instanceof BodyTooLargeError) throw e
        if (controller.signal.aborted && controller.signal.reason instanceof TransportError) {
          throw controller.signal.reason
        }
        throw new TransportError(`${request.method} ${request.path}: ${(e as Error).message}`, { cause: e })
      } finally {
        clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
      }
    },
  }
}

/** The body as bytes, refusing (without reading it all) one larger than `max`. */
async function readBytes(res: Response, max: number): Promise<Uint8Array> {
  const declared = Number(res.headers.get('content-length') ?? Number.NaN)
  const tooLarge = (n: number) =>
    new BodyTooLargeError(`the answer has ${n} bytes or more, at most ${max} are taken`)
  if (declared > max) {
    await res.body?.cancel().catch(() => {})
    throw tooLarge(declared)
  }
  if (!res.body) return new Uint8Array(0)
  const reader = res.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > max) {
      await reader.cancel().catch(() => {})
      throw tooLarge(size)
    }
    chunks.push(value)
  }
  const bytes = new Uint8Array(size)
  let at = 0
  for (const chunk of chunks) {
    bytes.set(chunk, at)
    at += chunk.byteLength
  }
  return bytes
}
