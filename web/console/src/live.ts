// Live updates from the server: the Server-Sent Events stream GET /v1/stream, read with fetch (an
// EventSource cannot send the admin token) and parsed by eventsource-parser; the stream resumes
// from its last id (Last-Event-ID) whenever the server ends it. When the runtime cannot stream
// (501 stream_unsupported), the route is missing, or the stream keeps failing, it polls instead:
// GET /v1/stream/poll with a cursor, or, on a server without it, the newest anomalies.
import { createParser, type EventSourceMessage } from 'eventsource-parser'
import { type Api, ApiError, errorOf, UNAUTHORIZED, withQuery } from './api.js'
import type { Anomaly, DeviceEvent } from './types.js'

export type LiveEvent = { type: 'anomaly'; data: Anomaly } | { type: 'device'; data: DeviceEvent }

export interface LiveStatus {
  mode: 'connecting' | 'stream' | 'polling' | 'stopped'
  /** What the page says about it. */
  text: string
}

export interface LiveOptions {
  pollMs?: number
  /** Stream failures in a row before polling instead. */
  maxFailures?: number
  /** The first anomaly id already shown (the anomalies fallback only reports newer ones). */
  lastAnomalyId?: number
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms)
    signal.addEventListener('abort', () => {
      clearTimeout(t)
      resolve()
    })
  })

/**
 * The server's clock from an answer's Date header (whole seconds), else this machine's: where a
 * stream that delivered no event ended, so that the next one starts there (`since`), not at "now".
 * eventsource-parser passes on only events with data, never the server's bare `id:` lines.
 */
function serverTime(res: Response): number {
  const t = Date.parse(res.headers.get('date') ?? '')
  return Number.isFinite(t) ? t : Date.now()
}

export class Live {
  status: LiveStatus = { mode: 'connecting', text: 'connecting to live updates…' }
  /** Settles once the first stream or poll answered (or after a few seconds): load history after it. */
  readonly ready: Promise<void>
  private markReady: () => void = () => {}
  private readonly events = new Set<(e: LiveEvent) => void>()
  private readonly statuses = new Set<(s: LiveStatus) => void>()
  private readonly abort = new AbortController()
  private lastId: string | undefined
  private readonly pollMs: number
  private readonly maxFailures: number
  private lastAnomalyId: number
  /** Where to start again when no event id came yet (server time, ms, a second early: repeats are ignored). */
  private resumeSince: number | undefined

  constructor(
    private readonly api: Api,
    options: LiveOptions = {},
  ) {
    this.pollMs = options.pollMs ?? 5000
    this.maxFailures = options.maxFailures ?? 3
    this.lastAnomalyId = options.lastAnomalyId ?? 0
    this.ready = new Promise((resolve) => {
      this.markReady = resolve
      setTimeout(resolve, 5000)
    })
  }

  onEvent(fn: (e: LiveEvent) => void): () => void {
    this.events.add(fn)
    return () => this.events.delete(fn)
  }

  onStatus(fn: (s: LiveStatus) => void): () => void {
    this.statuses.add(fn)
    fn(this.status)
    return () => this.statuses.delete(fn)
  }

  /** Sets the newest anomaly id already known (for the anomalies fallback). */
  seen(anomalyId: number): void {
    if (anomalyId > this.lastAnomalyId) this.lastAnomalyId = anomalyId
  }

  start(): void {
    void this.stream().catch(() => this.setStatus({ mode: 'stopped', text: 'live updates stopped' }))
  }

  stop(): void {
    this.abort.abort()
    this.setStatus({ mode: 'stopped', text: 'live updates stopped' })
  }

  private setStatus(s: LiveStatus) {
    this.status = s
    for (const fn of this.statuses) fn(s)
  }

  private dispatch(type: string, data: unknown) {
    if (type !== 'anomaly' && type !== 'device') return
    const e = { type, data } as LiveEvent
    if (e.type === 'anomaly' && typeof e.data.id === 'number') this.seen(e.data.id)
    for (const fn of this.events) fn(e)
  }

  private async stream(): Promise<void> {
    const signal = this.abort.signal
    let failures = 0
    while (!signal.aborted) {
      try {
        const headers: Record<string, string> = { accept: 'text/event-stream' }
        if (this.lastId) headers['last-event-id'] = this.lastId
        const since = this.lastId ? undefined : this.resumeSince
        const res = await this.api.raw(withQuery('/v1/stream', { since }), { headers, signal })
        if (res.status === 501 || res.status === 404 || res.status === 405) {
          const e = await errorOf(res)
          const why =
            e.code === 'stream_unsupported' ? 'this server cannot stream' : 'no stream on this server'
          return await this.poll(why)
        }
        if (!res.ok || !res.body) throw await errorOf(res)
        failures = 0
        this.resumeSince = serverTime(res) - 1000
        this.setStatus({ mode: 'stream', text: 'live: streaming from the server' })
        this.markReady()
        const parser = createParser({
          onEvent: (m: EventSourceMessage) => {
            if (m.id) this.lastId = m.id
            try {
              this.dispatch(m.event ?? 'message', JSON.parse(m.data))
            } catch {}
          },
        })
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader()
        for (;;) {
          const { done, value } = await reader.read()
          if (done) break
          parser.feed(value)
        }
        // The server ends the stream every few minutes: reconnect from the last id at once.
      } catch (e) {
        if (signal.aborted) return
        if (e instanceof ApiError && e.status === 401) {
          globalThis.dispatchEvent?.(new CustomEvent(UNAUTHORIZED, { detail: e.message }))
          throw e
        }
        failures++
        if (failures >= this.maxFailures) return await this.poll('the stream kept failing')
        this.setStatus({ mode: 'connecting', text: `live stream interrupted, reconnecting (${failures})…` })
        await sleep(Math.min(8000, 500 * 2 ** failures), signal)
      }
    }
  }

  private async poll(why: string): Promise<void> {
    const signal = this.abort.signal
    const every = `live updates by polling every ${Math.round(this.pollMs / 1000)} s (${why})`
    let route: 'stream-poll' | 'anomalies' = 'stream-poll'
    let cursor: string | null = this.lastId ?? null
    while (!signal.aborted) {
      try {
        if (route === 'stream-poll') {
          const since = cursor ? undefined : this.resumeSince
          const res = await this.api.raw(withQuery('/v1/stream/poll', { cursor, since, limit: 500 }), {
            signal,
          })
          if (res.status === 404 || res.status === 405) {
            route = 'anomalies'
            continue
          }
          if (!res.ok) throw await errorOf(res)
          const page = (await res.json()) as {
            items: { id: string; event: string; data: unknown }[]
            next: string | null
          }
          for (const it of page.items) this.dispatch(it.event, it.data)
          if (page.next) cursor = page.next
          if (page.items.length >= 500) continue
        } else {
          // No poll route: the newest anomalies, those past the newest already shown.
          const page = await this.api.get<{ items: Anomaly[] }>('/v1/anomalies', { limit: 200 }, signal)
          const fresh = page.items.filter((a) => (a.id ?? 0) > this.lastAnomalyId).reverse()
          for (const a of fresh) this.dispatch('anomaly', a)
        }
        if (this.status.text !== every) this.setStatus({ mode: 'polling', text: every })
        this.markReady()
      } catch (e) {
        if (signal.aborted) return
        this.setStatus({ mode: 'polling', text: `${every}; last poll failed: ${(e as Error).message}` })
      }
      await sleep(this.pollMs, signal)
    }
  }
}
