// How GET /v1/stream holds a stream open: for how long, how often it reads the store, how often it
// proves it is alive. Every stream ends by itself after `maxMs`; the client reconnects with the id
// of the last event it got (Last-Event-ID) and misses nothing.

export interface StreamOptions {
  /** False on runtimes that cannot hold a response open: GET /v1/stream answers 501 there. */
  supported: boolean
  /** How long one stream stays open (EDGEWATCH_STREAM_MAX). */
  maxMs: number
  /** How often an open stream reads the store for new events. */
  pollMs: number
  /** A `: keepalive` comment after this long without a write. */
  keepaliveMs: number
  /** The reconnection delay suggested to clients (`retry:`). */
  retryMs: number
  /** Events read per poll of the store, at most. */
  batch: number
  /** When it aborts (the server is stopping), open streams end. */
  shutdown: AbortSignal | undefined
}

export const DEFAULT_STREAM_OPTIONS: StreamOptions = {
  supported: true,
  maxMs: 5 * 60_000,
  pollMs: 1000,
  keepaliveMs: 15_000,
  retryMs: 2000,
  batch: 500,
  shutdown: undefined,
}
