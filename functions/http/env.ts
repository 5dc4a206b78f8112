// Per-request variables shared by middleware and routes.
import type { Principal } from './auth.js'

export interface AppEnv {
  Variables: {
    /** Extra fields for this request's log line. */
    logFields: Record<string, unknown>
    /** Who the bearer token belongs to (set by the auth middleware on authenticated routes). */
    principal: Principal
  }
  Bindings: {
    /** Set on the parts of a gateway relay: they are counted in /metrics but not logged one by one. */
    relayed?: boolean
  }
}
