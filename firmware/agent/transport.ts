// The agent's only way to the server: one request in, one answer out. A direct transport is fetch;
// a relay transport (relay.ts) bundles many agents' requests into one. Header names are lower case.

export interface TransportRequest {
  method: string
  /** Absolute path with query, e.g. `/v1/ingest`. */
  path: string
  headers: Record<string, string>
  body?: string
}

export interface TransportResponse {
  status: number
  headers: Record<string, string>
  body: string
}

export interface Transport {
  /** Answers whatever HTTP status the server gave; throws (TransportError, or the abort reason) when no answer came. */
  send(request: TransportRequest, signal?: AbortSignal): Promise<TransportResponse>
}

/** No answer: the network is down, the server unreachable, or the request timed out. */
export class TransportError extends Error {
  override name = 'TransportError'
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
        return { status: res.status, headers, body: await res.text() }
      } catch (e) {
        if (signal?.aborted) throw signal.reason
        if (e instanceof TransportError) throw e
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
