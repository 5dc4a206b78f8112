// GET /v1/export: stored records with their scores and verdicts as an NDJSON stream (the replay tool's input).
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi'
import type { AppContext } from '../app-context.js'
import { iso } from '../domain/present.js'
import type { StoredRecord } from '../domain/types.js'
import type { AppEnv } from '../http/env.js'
import { ExportQuerySchema, jsonError } from '../http/schemas.js'

/** One export line: the record as sent, with ts normalised and `score` and `anomalies` added. */
export function exportLine(r: StoredRecord): string {
  const body = JSON.parse(r.body) as Record<string, unknown>
  return (
    JSON.stringify({
      ...body,
      deviceId: r.deviceId,
      ts: iso(r.ts),
      score: r.score,
      anomalies: r.kinds.join(','),
    }) + '\n'
  )
}

export function exportRoutes(app: OpenAPIHono<AppEnv>, ctx: AppContext): void {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/export',
      summary: 'Export records with scores and verdicts as NDJSON, by device and time range',
      description:
        'In time order across devices (by `ts`, then storage order). Each line is the record as sent, with `ts` as ISO-8601, `score` (0-1) and `anomalies` (the kinds, comma separated) added.',
      security: [{ bearer: [] }],
      request: { query: ExportQuerySchema },
      responses: {
        200: {
          content: { 'application/x-ndjson': { schema: z.string() } },
          description: 'NDJSON, one record per line',
        },
        400: jsonError('Invalid query'),
        401: jsonError('Missing or wrong token'),
      },
    }),
    (c) => {
      const records = ctx.store.exportRecords(c.req.valid('query'))[Symbol.asyncIterator]()
      const encoder = new TextEncoder()
      const stream = new ReadableStream<Uint8Array>({
        async pull(controller) {
          let chunk = ''
          while (chunk.length < 64 * 1024) {
            const { done, value } = await records.next()
            if (done) {
              if (chunk) controller.enqueue(encoder.encode(chunk))
              controller.close()
              return
            }
            chunk += exportLine(value)
          }
          controller.enqueue(encoder.encode(chunk))
        },
        async cancel() {
          await records.return?.()
        },
      })
      return c.body(stream, 200, { 'Content-Type': 'application/x-ndjson' }) as never
    },
  )
}
