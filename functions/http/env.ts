// Per-request variables shared by middleware and routes.
export interface AppEnv {
  Variables: {
    /** Extra fields for this request's log line. */
    logFields: Record<string, unknown>
  }
}
