// POST /v1/ingest: device records as a JSON array, one JSON object, or NDJSON; gzip accepted.
import type { OpenAPIHono } from '@hono/zod-openapi'
import { z } from '@hono/zod-openapi'
import type { AppContext } from '../app-context.js'
import { formatOf } from '../domain/ingest-body.js'
import type { AppEnv } from '../http/env.js'
import { ApiError } from '../http/errors.js'
import { ingestRequest } from '../http/ingest-request.js'
import { IngestResultSchema, json, jsonError } from '../http/schemas.js'

export function ingestRoutes(app: OpenAPIHono<AppEnv>, ctx: AppContext): void {
  app.openAPIRegistry.registerPath({
    method: 'post',
    path: '/v1/ingest',
    summary: 'Ingest device records',
    description:
      'Accepts a JSON array of records, one record object, or NDJSON (one record per line); `Content-Encoding: gzip` is accepted. ' +
      'Valid records are stored and analysed even when others are rejected; rejected entries go to the dead letters. ' +
      'A retry with the same `Idempotency-Key` and the same body gets the first answer back and stores nothing again; ' +
      'the same key with another body gets 422.',
    security: [{ bearer: [] }],
    request: {
      headers: z.object({ 'idempotency-key': z.string().max(200).optional() }),
      body: {
        required: true,
        content: {
          'application/json': {
            schema: z.union([z.array(z.record(z.string(), z.unknown())), z.record(z.string(), z.unknown())]),
          },
          'application/x-ndjson': {
            schema: z.string().openapi({ example: '{"deviceId":"pump-1","temp":21.5}\n' }),
          },
        },
      },
    },
    responses: {
      200: json(
        IngestResultSchema,
        'Accepted records, rejected entries with their reasons, and the anomalies found',
      ),
      400: jsonError('Nothing in the body was usable (details list why)'),
      401: jsonError('Missing or wrong token'),
      413: jsonError('Body larger than the limit (also after decompression)'),
      415: jsonError('Unsupported Content-Type or Content-Encoding'),
      422: jsonError('The Idempotency-Key was used before with a different body'),
      500: jsonError('This request could not be analysed or stored (nothing of it was kept)'),
      503: jsonError('Overloaded, or other writers kept changing the same series: retry after Retry-After'),
    },
  })

  app.post('/v1/ingest', async (c) => {
    const principal = c.get('principal')
    const contentType = c.req.header('content-type') ?? ''
    const format = formatOf(contentType)
    if (!format) {
      throw new ApiError(415, 'unsupported_media_type', 'send application/json or application/x-ndjson', {
        contentType: contentType.slice(0, 100),
      })
    }
    const answer = await ingestRequest(c, ctx, {
      format,
      contentType,
      device: principal.role === 'device' ? principal.deviceId : undefined,
      relayed: (c.env as AppEnv['Bindings'] | undefined)?.relayed === true,
    })
    if (answer.replayed) c.header('Idempotent-Replayed', 'true')
    return c.body(answer.body, answer.status, { 'Content-Type': 'application/json' })
  })
}
