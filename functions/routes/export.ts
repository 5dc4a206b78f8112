// GET /v1/export: stored records with their scores and verdicts as an NDJSON stream (the replay
// tool's input). The last line says how the stream ended, so a client can always tell a complete
// export from a cut one: `{"export":{"complete":true,"records":N}}` after the N record lines, or
// `{"error":{...}}` when reading failed part way; a stream that ends on a record line was cut short.
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi'
import type { AppContext } from '../app-context.js'
import { iso } from '../domain/present.js'
import type { StoredRecord } from '../domain/types.js'
import type { AppEnv } from '../http/env.js'
import { errorBody } from '../http/errors.js'
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

/** The last line of a whole export. */
export function exportEndLine(records: number): string {
  return JSON.stringify({ export: { complete: true, records } }) + '\n'
}

const CHUNK_CHARS = 64 * 1024

export function exportRoutes(app: OpenAPIHono<AppEnv>, ctx: AppContext): void {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/export',
      summary: 'Export records with scores and verdicts as NDJSON, by device and time range',
      description:
        'By default in time order across devices (by `ts`, then storage order); `order=arrival` gives the order records were stored in, ' +
        'which is the order the detectors saw them (the two differ for data that arrives out of time order). ' +
        'Each line is the record as sent, with `ts` as ISO-8601, `score` (0-1) and `anomalies` (the kinds, comma separated) added. ' +
        'The last line is `{"export":{"complete":true,"records":N}}` when every record was sent, or `{"error":{"code","message","details"}}` ' +
        'when reading failed part way; an export whose last line is neither was cut short.',
      security: [{ bearer: [] }],
      request: { query: ExportQuerySchema },
      responses: {
        200: {
          content: { 'application/x-ndjson': { schema: z.string() } },
          description: 'NDJSON, one record per line, then the end line',
        },
        400: jsonError('Invalid query'),
        401: jsonError('Missing or wrong token'),
      },
    }),
    (c) => {
      const records = ctx.store.exportRecords(c.req.valid('query'))[Symbol.asyncIterator]()
      const encoder = new TextEncoder()
      let count = 0
      let ended = false
      const stream = new ReadableStream<Uint8Array>({
        async pull(controller) {
          if (ended) return
          let chunk = ''
          try {
            while (chunk.length < CHUNK_CHARS) {
              const { done, value } = await records.next()
              if (done) {
                ended = true
                controller.enqueue(encoder.encode(chunk + exportEndLine(count)))
                controller.close()
                return
              }
              chunk += exportLine(value)
              count++
            }
          } catch (e) {
            ended = true
            const message = `the export failed after ${count} records: ${(e as Error).message}`
            const line = JSON.stringify(errorBody('export_failed', message, { records: count })) + '\n'
            controller.enqueue(encoder.encode(chunk + line))
            controller.close()
            return
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
