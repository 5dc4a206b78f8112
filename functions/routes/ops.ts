// Operations: liveness, readiness, Prometheus metrics, the OpenAPI document and its docs page.
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi'
import type { AppContext } from '../app-context.js'
import type { AppEnv } from '../http/env.js'
import { json } from '../http/schemas.js'
import { docsPage } from './docs-page.js'

const Status = z.object({ status: z.string(), version: z.string().optional(), detail: z.string().optional() })

export function opsRoutes(app: OpenAPIHono<AppEnv>, ctx: AppContext): void {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/healthz',
      summary: 'Liveness: the process answers',
      responses: { 200: json(Status, 'Alive') },
    }),
    (c) => c.json({ status: 'ok', version: ctx.version }, 200),
  )

  app.openapi(
    createRoute({
      method: 'get',
      path: '/readyz',
      summary: 'Readiness: the store answers',
      responses: { 200: json(Status, 'Ready'), 503: json(Status, 'The store does not answer') },
    }),
    async (c) => {
      try {
        await ctx.store.ping()
        return c.json({ status: 'ready' }, 200)
      } catch (e) {
        return c.json({ status: 'unavailable', detail: (e as Error).message }, 503)
      }
    },
  )

  app.openapi(
    createRoute({
      method: 'get',
      path: '/metrics',
      summary: 'Prometheus metrics (text format 0.0.4)',
      responses: { 200: { content: { 'text/plain': { schema: z.string() } }, description: 'Metrics' } },
    }),
    async (c) => {
      // Devices by status are counted when scraped: status is derived from the time now.
      const counts = await ctx.store.fleet.countByStatus(ctx.liveness())
      for (const [status, n] of Object.entries(counts)) ctx.metrics.devices.set({ status }, n)
      return c.body(ctx.metrics.render(), 200, {
        'Content-Type': 'text/plain; version=0.0.4; charset=utf-8',
      }) as never
    },
  )

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    description: 'The ingest token (POST /v1/ingest only) or the admin token (every route)',
  })
  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'edgewatch',
      version: ctx.version,
      description: 'Ingest IoT device logs and telemetry, get the anomalies back.',
    },
  })
  app.get('/docs', (c) => c.html(docsPage()))
}
