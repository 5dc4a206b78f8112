// What every route can reach: the app's dependencies after wiring.
import type { Ingestor } from './domain/ingest.js'
import type { Tokens } from './http/auth.js'
import type { InFlight } from './http/in-flight.js'
import type { Metrics } from './observability/metrics.js'
import type { Store } from './store/port.js'

export interface AppContext {
  store: Store
  ingestor: Ingestor
  /** Bytes of request bodies being read and parsed. */
  bodies: InFlight
  metrics: Metrics
  bodyLimitBytes: number
  tokens: Tokens
  version: string
  now: () => number
}
