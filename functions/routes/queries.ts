// Read routes: anomalies, one series, dead letters (devices are in devices.ts).
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi'
import type { AppContext } from '../app-context.js'
import { iso, presentAnomaly, presentDeadLetter, presentWindow } from '../domain/present.js'
import type { AppEnv } from '../http/env.js'
import { ApiError } from '../http/errors.js'
import {
  AnomalyPageSchema,
  AnomalyQuerySchema,
  DeadLetterPageSchema,
  deviceIdParam,
  json,
  jsonError,
  limitParam,
  PageQuerySchema,
  SeriesSchema,
  timeParam,
} from '../http/schemas.js'

const security = [{ bearer: [] }]
/** The series route's default lower time bound: this long before the device's newest record. */
const SERIES_DEFAULT_SPAN_MS = 24 * 60 * 60 * 1000
const common = { 400: jsonError('Invalid query'), 401: jsonError('Missing or wrong token') }

export function queryRoutes(app: OpenAPIHono<AppEnv>, ctx: AppContext): void {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/anomalies',
      summary: 'List anomalies, newest first',
      security,
      request: { query: AnomalyQuerySchema },
      responses: { 200: json(AnomalyPageSchema, 'A page of anomalies'), ...common },
    }),
    async (c) => {
      const q = c.req.valid('query')
      const page = await ctx.store.listAnomalies(q)
      return c.json({ items: page.items.map(presentAnomaly), next: page.next }, 200)
    },
  )

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/devices/{id}/series/{metric}',
      summary: "A device metric's recent values (oldest first) and its newest window features",
      description:
        'The newest `limit` values and `windows` windows at or after `since`: values with `ts` >= since, ' +
        "windows whose `end` >= since. `since` defaults to 24 hours before the device's newest record " +
        '(its `lastTs`), so older data is left out unless asked for.',
      security,
      request: {
        params: z.object({ id: deviceIdParam, metric: z.string().min(1).max(64) }),
        query: z.object({
          limit: limitParam(10_000, 500),
          windows: limitParam(1000, 60),
          since: timeParam(
            'since',
            "only values and windows at or after this time; default 24 hours before the device's lastTs",
          ),
        }),
      },
      responses: { 200: json(SeriesSchema, 'The series'), 404: jsonError('Unknown device'), ...common },
    }),
    async (c) => {
      const { id, metric } = c.req.valid('param')
      const query = c.req.valid('query')
      const device = await ctx.store.getDevice(id, ctx.liveness())
      if (!device) throw new ApiError(404, 'device_not_found', `no device ${id}`)
      const since = query.since ?? device.lastTs - SERIES_DEFAULT_SPAN_MS
      const records = await ctx.store.recentRecords(id, metric, query.limit, since)
      const values = records.reverse().map((r) => {
        const body = JSON.parse(r.body) as { metrics?: Record<string, unknown> } & Record<string, unknown>
        const value = typeof body.metrics?.[metric] === 'number' ? body.metrics[metric] : body[metric]
        return { ts: iso(r.ts), value: value as number, score: r.score, anomalies: r.kinds }
      })
      const features = (await ctx.store.recentWindows(id, metric, query.windows, since))
        .reverse()
        .map(presentWindow)
      const state = (await ctx.store.loadStates([{ deviceId: id, metric }])).values().next().value
      const samples = state?.sampleCount ?? 0
      return c.json({ deviceId: id, metric, samples, values, windows: features }, 200)
    },
  )

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/dead-letters',
      summary: 'Rejected input kept with its reason, newest first',
      security,
      request: { query: PageQuerySchema },
      responses: { 200: json(DeadLetterPageSchema, 'A page of dead letters'), ...common },
    }),
    async (c) => {
      const page = await ctx.store.listDeadLetters(c.req.valid('query'))
      return c.json({ items: page.items.map(presentDeadLetter), next: page.next }, 200)
    },
  )
}
