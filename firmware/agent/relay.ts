// A gateway: many agents (each with its own identity and token) share one connection to the server.
// Ingest, heartbeat and goodbye requests wait up to `windowMs` (or until `maxParts`, or `maxBytes`) and go as
// the parts of one POST /v1/gateway/relay; each agent gets its own part's answer, which the server
// gives exactly as if the part had been sent alone. Every other request goes straight through.
//
// When the envelope itself fails: no answer → every part fails as a network error (each agent retries
// its own request later); 429 or 5xx → every part gets that answer (with its Retry-After, so every agent
// backs off); any other status (a server without the relay route, an envelope too large) → each part is
// sent alone instead, so that no agent ever takes the envelope's refusal for its own.
import { systemClock } from './clock.js'
import type { Clock } from './ports.js'
import { type Transport, TransportError, type TransportRequest, type TransportResponse } from './transport.js'

export interface RelayOptions {
  /** The one connection (e.g. directTransport(server)). */
  upstream: Transport
  clock?: Clock
  /** How long the first waiting part waits for others (default 20 ms). */
  windowMs?: number
  /** Parts per envelope (default and most: 1,000). */
  maxParts?: number
  /** Rough size of an envelope's parts (bodies plus headers, default 4 MiB); a larger part goes alone. */
  maxBytes?: number
  /** Paths that are relayed (default /v1/ingest, /v1/device/heartbeat and /v1/device/goodbye). */
  paths?: readonly string[]
  /** Headers of the envelope request itself (e.g. a gateway's own credentials). */
  headers?: Record<string, string>
}

export interface RelayTransport extends Transport {
  /** Sends what waits now, without waiting for the window. */
  flush(): Promise<void>
  /** Envelopes sent and parts carried, for tests and stats. */
  counts(): { envelopes: number; parts: number; direct: number }
}

export const RELAY_PATH = '/v1/gateway/relay'
const MAX_PARTS = 1000

interface Waiting {
  request: TransportRequest
  bytes: number
  resolve: (res: TransportResponse) => void
  reject: (e: unknown) => void
  settled: boolean
}

interface RelayAnswer {
  parts?: Array<{ status?: unknown; headers?: unknown; body?: unknown }>
}

export function relayTransport(options: RelayOptions): RelayTransport {
  const { upstream } = options
  const clock = options.clock ?? systemClock
  const windowMs = options.windowMs ?? 20
  const maxParts = Math.min(options.maxParts ?? MAX_PARTS, MAX_PARTS)
  const maxBytes = options.maxBytes ?? 4 * 1024 * 1024
  const paths = new Set(options.paths ?? ['/v1/ingest', '/v1/device/heartbeat', '/v1/device/goodbye'])
  const counts = { envelopes: 0, parts: 0, direct: 0 }
  let waiting: Waiting[] = []
  let waitingBytes = 0
  let window: AbortController | null = null
  const inFlight = new Set<Promise<void>>()

  const direct = (request: TransportRequest, signal?: AbortSignal) => {
    counts.direct += 1
    return upstream.send(request, signal)
  }

  const flush = (): Promise<void> => {
    window?.abort()
    window = null
    const parts = waiting.filter((w) => !w.settled)
    waiting = []
    waitingBytes = 0
    if (parts.length === 0) return Promise.resolve()
    const sending = sendEnvelope(parts).finally(() => inFlight.delete(sending))
    inFlight.add(sending)
    return sending
  }

  const sendEnvelope = async (parts: Waiting[]): Promise<void> => {
    counts.envelopes += 1
    counts.parts += parts.length
    let res: TransportResponse
    try {
      res = await upstream.send({
        method: 'POST',
        path: RELAY_PATH,
        headers: { 'content-type': 'application/json', ...options.headers },
        body: JSON.stringify({ parts: parts.map(({ request: r }) => ({ ...r, body: r.body ?? '' })) }),
      })
    } catch (e) {
      const error = e instanceof TransportError ? e : new TransportError(`relay: ${(e as Error).message}`)
      for (const part of parts) settle(part, () => part.reject(error))
      return
    }
    if (res.status === 200) {
      const answers = answersOf(res, parts.length)
      if (answers) {
        parts.forEach((part, i) => {
          settle(part, () => part.resolve(answers[i]!))
        })
        return
      }
      const error = new TransportError('relay: the answer does not have one part per request')
      for (const part of parts) settle(part, () => part.reject(error))
      return
    }
    if (res.status === 429 || res.status >= 500) {
      for (const part of parts) settle(part, () => part.resolve(res))
      return
    }
    // The envelope was refused as a whole: each part goes alone, so each gets its own answer.
    await Promise.all(
      parts.map((part) =>
        direct(part.request).then(
          (answer) => settle(part, () => part.resolve(answer)),
          (e) => settle(part, () => part.reject(e)),
        ),
      ),
    )
  }

  return {
    send(request, signal) {
      if (!paths.has(request.path) || request.method !== 'POST') return direct(request, signal)
      const bytes = (request.body?.length ?? 0) + 64 + JSON.stringify(request.headers).length
      if (bytes > maxBytes) return direct(request, signal)
      signal?.throwIfAborted()
      if (waitingBytes + bytes > maxBytes) void flush()
      return new Promise<TransportResponse>((resolve, reject) => {
        const part: Waiting = { request, bytes, resolve, reject, settled: false }
        if (signal) {
          const onAbort = () => settle(part, () => reject(signal.reason))
          signal.addEventListener('abort', onAbort, { once: true })
          const done = () => signal.removeEventListener('abort', onAbort)
          part.resolve = (res) => {
            done()
            resolve(res)
          }
          part.reject = (e) => {
            done()
            reject(e)
          }
        }
        waiting.push(part)
        waitingBytes += bytes
        if (waiting.length >= maxParts) {
          void flush()
        } else if (!window) {
          const controller = new AbortController()
          window = controller
          clock.sleep(windowMs, controller.signal).then(
            () => {
              if (window === controller) void flush()
            },
            () => {},
          )
        }
      })
    },
    async flush() {
      await flush()
      await Promise.all(inFlight)
    },
    counts: () => ({ ...counts }),
  }
}

function settle(part: Waiting, action: () => void): void {
  if (part.settled) return
  part.settled = true
  action()
}

function answersOf(res: TransportResponse, n: number): TransportResponse[] | null {
  let answer: RelayAnswer
  try {
    answer = JSON.parse(res.body) as RelayAnswer
  } catch {
    return null
  }
  if (!Array.isArray(answer.parts) || answer.parts.length !== n) return null
  const out: TransportResponse[] = []
  for (const part of answer.parts) {
    if (typeof part?.status !== 'number' || typeof part.body !== 'string') return null
    const headers: Record<string, string> = {}
    if (part.headers && typeof part.headers === 'object') {
      for (const [name, value] of Object.entries(part.headers)) {
        if (typeof value === 'string') headers[name.toLowerCase()] = value
      }
    }
    out.push({ status: part.status, headers, body: part.body })
  }
  return out
}
