// HTTP for bench:abuse: one request with a prebuilt body, timed, with a hard timeout, never throwing.
import { type Agent, type IncomingHttpHeaders, request } from 'node:http'

export interface Answer {
  /** The HTTP status; 'timeout' when none came in time, 'error' when the connection failed (refused, reset, cut). */
  status: number | 'error' | 'timeout'
  ms: number
  headers: IncomingHttpHeaders
  /** The response body, its first `keep` characters at most. */
  body: string
  error?: string
}

export interface SendOptions {
  port: number
  method: string
  path: string
  headers: Record<string, string>
  body?: Buffer
  agent: Agent
  timeoutMs: number
  /** Aborts the request (the benchmark's hard deadline). */
  signal: AbortSignal
  /** Called with each chunk of the response body (for counting lines of a stream). */
  onData?: (chunk: Buffer) => void
  /** How much of the response body to keep in `body` (64 KiB unless told). */
  keep?: number
}

/** Sends one request; never rejects. The time runs from the first byte sent to the last byte received. */
export function send(o: SendOptions): Promise<Answer> {
  return new Promise((resolve) => {
    const t0 = performance.now()
    let settled = false
    let status: Answer['status'] = 'error'
    let headers: IncomingHttpHeaders = {}
    let body = ''
    const keep = o.keep ?? 64 * 1024
    const finish = (error?: string) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      o.signal.removeEventListener('abort', onAbort)
      resolve({ status, ms: performance.now() - t0, headers, body, ...(error ? { error } : {}) })
    }
    const req = request({
      host: '127.0.0.1',
      port: o.port,
      method: o.method,
      path: o.path,
      agent: o.agent,
      headers: o.body ? { ...o.headers, 'content-length': String(o.body.length) } : o.headers,
    })
    const timer = setTimeout(() => {
      if (status === 'error') status = 'timeout'
      req.destroy(new Error(`timed out after ${o.timeoutMs} ms`))
    }, o.timeoutMs)
    const onAbort = () => req.destroy(new Error('aborted: hard deadline'))
    if (o.signal.aborted) onAbort()
    else o.signal.addEventListener('abort', onAbort)
    req.on('response', (res) => {
      // The status counts from here even if the body is cut: the server made its decision.
      status = res.statusCode ?? 'error'
      headers = res.headers
      res.on('data', (c: Buffer) => {
        if (body.length < keep) body += c.toString('utf8', 0, Math.min(c.length, keep - body.length))
        o.onData?.(c)
      })
      res.on('end', () => finish())
      res.on('error', (e) => finish(e.message))
      res.on('close', () => finish(res.complete ? undefined : 'response cut'))
    })
    req.on('error', (e) => finish(e.message))
    req.end(o.body)
  })
}

/** Seconds to wait from a Retry-After header (seconds or an HTTP date), within [0, capS]. */
export function retryAfterMs(header: string | string[] | undefined, capS: number): number {
  const text = Array.isArray(header) ? header[0] : header
  if (!text) return 1000
  const s = /^\d+$/.test(text.trim()) ? Number(text) : (Date.parse(text) - Date.now()) / 1000
  return Math.round(Math.min(capS, Math.max(0, Number.isFinite(s) ? s : 1)) * 1000)
}

/** A non-2xx answer's error code (the `{ error: { code } }` shape), or the network error, or ''. */
export function errorCode(a: Answer): string {
  try {
    return (JSON.parse(a.body) as { error?: { code?: string } }).error?.code ?? ''
  } catch {
    return a.error ?? ''
  }
}

/** A server error other than 503 (which is the server's way to refuse load). */
export const is5xx = (a: Answer) => typeof a.status === 'number' && a.status >= 500 && a.status !== 503
