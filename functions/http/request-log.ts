// One structured JSON log line per request, plus the request counters and latency histogram.
import type { MiddlewareHandler } from 'hono'
import type { Metrics } from '../observability/metrics.js'
import type { AppEnv } from './env.js'

export function requestLog(metrics: Metrics, write: (line: string) => void): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const t0 = performance.now()
    await next()
    const seconds = (performance.now() - t0) / 1000
    const route = c.req.routePath || 'unmatched'
    const status = c.res.status
    metrics.requests.inc({ method: c.req.method, route, status: String(status) })
    metrics.requestSeconds.observe(seconds, { route })
    // A relay's parts are counted, not logged one by one: the relay's own line stands for them.
    if ((c.env as AppEnv['Bindings'] | undefined)?.relayed) return
    write(
      JSON.stringify({
        time: new Date().toISOString(),
        method: c.req.method,
        path: c.req.path,
        route,
        status,
        ms: Math.round(seconds * 1e6) / 1e3,
        ...(c.get('logFields') ?? {}),
      }),
    )
  }
}
