// What every route can reach: the app's dependencies after wiring.
import type { Deployments } from './domain/apps/deployments.js'
import type { Releases } from './domain/apps/releases.js'
import type { Feed } from './domain/feed/feed.js'
import type { StreamOptions } from './domain/feed/options.js'
import type { Credentials } from './domain/fleet/credentials.js'
import type { Enrolments } from './domain/fleet/enrolment.js'
import type { Heartbeats } from './domain/fleet/heartbeats.js'
import type { FleetOptions } from './domain/fleet/options.js'
import type { Ingestor } from './domain/ingest.js'
import type { Tokens } from './http/auth.js'
import type { InFlight } from './http/in-flight.js'
import type { Metrics } from './observability/metrics.js'
import type { FleetStore, Liveness } from './store/fleet-port.js'
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
  fleet: {
    enrolments: Enrolments
    credentials: Credentials
    heartbeats: Heartbeats
    options: FleetOptions
    store: FleetStore
  }
  apps: {
    releases: Releases
    deployments: Deployments
  }
  /** Now, and the heartbeat timeout: what device status is derived from. */
  liveness(): Liveness
  /** What happens in the fleet, read forwards (GET /v1/stream, /v1/stream/poll). */
  feed: Feed
  stream: StreamOptions
  /** Runs a request through the whole app (the relay's parts). */
  dispatch(request: Request): Promise<Response>
}
