// GET /v1/export: stored records with their scores and verdicts (the replay tool's input), or the
// anomalies or windows, as NDJSON (the default), Parquet or CSV, streamed in bounded memory.
// NDJSON's last line says how the stream ended, so a client can always tell a complete export from a
// cut one: `{"export":{"complete":true,"records":N}}` after the N lines, or `{"error":{...}}` when
// reading failed part way; a stream that ends on a record line was cut short. Parquet and CSV have no
// such line: a failure part way aborts the response (the client sees a network error, not an end),
// and a Parquet file without its footer is refused by every reader.
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi'
import type { AppContext } from '../app-context.js'
import type { AppEnv } from '../http/env.js'
import { errorBody } from '../http/errors.js'
import { ExportQuerySchema, jsonError } from '../http/schemas.js'
import { type Cell, csvHeader, csvLines, ParquetRowGroups, ROW_GROUP_ROWS } from './export-encoders.js'
import { type ExportFormat, exportLine, TABLES, type TableSpec } from './export-tables.js'

export { exportLine }

/** The last line of a whole export. */
export function exportEndLine(records: number): string {
  return JSON.stringify({ export: { complete: true, records } }) + '\n'
}

const CHUNK_CHARS = 64 * 1024

const QuerySchema = ExportQuerySchema.extend({
  format: z.enum(['ndjson', 'parquet', 'csv']).default('ndjson').openapi({
    description:
      '`ndjson` (the default), `parquet` (row groups of 10,000 rows, Snappy) or `csv` (RFC 4180, a header line)',
  }),
  table: z.enum(['records', 'anomalies', 'windows']).default('records').openapi({
    description:
      '`records` (with score and anomalies), `anomalies` (newest first) or `windows` (closed windows, by series, oldest first; since/until bound their end)',
  }),
})

const CONTENT_TYPES: Record<ExportFormat, string> = {
  ndjson: 'application/x-ndjson',
  parquet: 'application/vnd.apache.parquet',
  csv: 'text/csv; charset=utf-8',
}

export function exportRoutes(app: OpenAPIHono<AppEnv>, ctx: AppContext): void {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/export',
      summary: 'Export records with scores and verdicts (or anomalies, or windows) as NDJSON, Parquet or CSV',
      description:
        'By default in time order across devices (by `ts`, then storage order); `order=arrival` gives the order records were stored in, ' +
        'which is the order the detectors saw them (the two differ for data that arrives out of time order). ' +
        'Each NDJSON line is the record as sent, with `ts` as ISO-8601, `score` (0-1) and `anomalies` (the kinds, comma separated) added. ' +
        'The last line is `{"export":{"complete":true,"records":N}}` when every record was sent, or `{"error":{"code","message","details"}}` ' +
        'when reading failed part way; an export whose last line is neither was cut short. ' +
        '`format=parquet` and `format=csv` give columns (records: deviceId, ts, level, score, anomalies, body); ' +
        'a failure part way aborts the response, so a cut file never looks complete.',
      security: [{ bearer: [] }],
      request: { query: QuerySchema },
      responses: {
        200: {
          content: {
            'application/x-ndjson': { schema: z.string() },
            'application/vnd.apache.parquet': { schema: z.string().openapi({ format: 'binary' }) },
            'text/csv': { schema: z.string() },
          },
          description: 'NDJSON, one row per line, then the end line; or Parquet; or CSV',
        },
        400: jsonError('Invalid query'),
        401: jsonError('Missing or wrong token'),
      },
    }),
    (c) => {
      const { format, table, ...query } = c.req.valid('query')
      const spec = TABLES[table] as TableSpec<unknown>
      const rows = spec.rows(ctx.store, query)
      const stream =
        format === 'ndjson' ? ndjsonStream(spec, rows) : columnStream(spec, rows, format, nodeResponse(c.env))
      const headers: Record<string, string> = { 'Content-Type': CONTENT_TYPES[format] }
      if (format !== 'ndjson')
        headers['Content-Disposition'] = `attachment; filename="edgewatch-${table}.${format}"`
      return c.body(stream, 200, headers) as never
    },
  )
}

/** NDJSON in chunks of about 64 KB, then the end line (or the error line). */
function ndjsonStream<R>(spec: TableSpec<R>, rows: AsyncIterator<R>): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder()
  let count = 0
  let ended = false
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (ended) return
      let chunk = ''
      try {
        while (chunk.length < CHUNK_CHARS) {
          const { done, value } = await rows.next()
          if (done) {
            ended = true
            controller.enqueue(encoder.encode(chunk + exportEndLine(count)))
            controller.close()
            return
          }
          chunk += spec.line(value)
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
      await rows.return?.()
    },
  })
}

/**
 * Parquet or CSV, one row group (ROW_GROUP_ROWS rows) per pull, so at most one group is held. A read
 * that fails part way errors the stream: the response is aborted rather than ended, and a Parquet file
 * has no footer without finish().
 */
function columnStream<R>(
  spec: TableSpec<R>,
  rows: AsyncIterator<R>,
  format: 'parquet' | 'csv',
  node: NodeResponse | undefined,
): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder()
  const parquet = format === 'parquet' ? new ParquetRowGroups(spec.columns) : undefined
  let started = false
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const group: Cell[][] = []
      let done = false
      try {
        while (group.length < ROW_GROUP_ROWS) {
          const next = await rows.next()
          if (next.done) {
            done = true
            break
          }
          group.push(spec.cells(next.value))
        }
        if (parquet) {
          const bytes = parquet.group(group)
          controller.enqueue(done ? concat(bytes, parquet.finish()) : bytes)
        } else {
          const head = started ? '' : csvHeader(spec.columns)
          controller.enqueue(encoder.encode(head + csvLines(spec.columns, group)))
        }
        started = true
      } catch (e) {
        // On Node, @hono/node-server answers a stream error by writing `Error: <message>` and ending
        // the response properly, which a client would take for a complete (if odd) file: close the
        // connection first, so it sees a transfer cut short. workerd and Spin reset it themselves.
        node?.destroy(e as Error)
        controller.error(e)
        return
      }
      if (done) controller.close()
    },
    async cancel() {
      await rows.return?.()
    },
  })
}

/** The Node response under @hono/node-server (its env's `outgoing`), by shape: no runtime import. */
interface NodeResponse {
  destroy(error?: Error): void
}

function nodeResponse(env: unknown): NodeResponse | undefined {
  const outgoing = (env as { outgoing?: Partial<NodeResponse> } | undefined)?.outgoing
  return typeof outgoing?.destroy === 'function' ? (outgoing as NodeResponse) : undefined
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length)
  out.set(a)
  out.set(b, a.length)
  return out
}
