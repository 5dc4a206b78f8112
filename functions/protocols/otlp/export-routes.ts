// POST /v1/otlp/v1/logs and POST /v1/otlp/v1/metrics: OTLP/HTTP, so an OpenTelemetry exporter whose
// base URL is `<edgewatch>/v1/otlp` sends its logs and metrics to edgewatch. Binary protobuf or
// JSON, gzip or not; the records go through the one ingest path as POST /v1/ingest's do (the same
// bounds, commit before the answer, dead letters for rejected records, Idempotency-Key when sent),
// and are answered the OTLP way (answers.ts). Exporters send credentials as configured headers:
// `Authorization: Bearer <token>` (the ingest or admin token, or a device token, which writes only
// that device's records); these routes read it themselves so that a refusal is OTLP-shaped too.
import type { OpenAPIHono } from '@hono/zod-openapi'
import { z } from '@hono/zod-openapi'
import type { Context } from 'hono'
import type { AppContext } from '../../app-context.js'
import type { BinaryBodyParser } from '../../domain/ingest-prepare.js'
import type { AppEnv } from '../../http/env.js'
import { ApiError } from '../../http/errors.js'
import { ingestRequest } from '../../http/ingest-request.js'
import { offeredTokens, principalOf } from '../influx/credentials.js'
import { exportAnswer, type OtlpAnswer, type Signal, statusAnswer } from './answers.js'
import { DEFAULT_DEVICE_ATTRIBUTES } from './attributes.js'
import { logsParser, type OtlpBodyOptions } from './logs-body.js'
import { metricsParser } from './metrics-body.js'
import { encodingOf } from './request-body.js'

export interface OtlpOptions {
  /** Attribute names whose value is the device id, the first present wins (default: device.id, service.instance.id). */
  deviceAttributes?: readonly string[] | undefined
}

/** The paths, by signal: an exporter appends `/v1/logs` or `/v1/metrics` to its base URL. */
export const OTLP_PATHS: Record<Signal, string> = {
  logs: '/v1/otlp/v1/logs',
  metrics: '/v1/otlp/v1/metrics',
}

const PARSERS: Record<Signal, (o: OtlpBodyOptions) => BinaryBodyParser> = {
  logs: logsParser,
  metrics: metricsParser,
}

const NO_QUERY = new URLSearchParams()

export function otlpExportRoutes(app: OpenAPIHono<AppEnv>, ctx: AppContext, options: OtlpOptions = {}): void {
  const deviceAttributes = options.deviceAttributes ?? DEFAULT_DEVICE_ATTRIBUTES
  document(app)

  const accept = async (c: Context<AppEnv>, signal: Signal): Promise<OtlpAnswer> => {
    const contentType = c.req.header('content-type')
    const encoding = encodingOf(contentType)
    if (!encoding)
      return statusAnswer(
        undefined,
        415,
        `Content-Type ${(contentType ?? 'none').slice(0, 60)} is not OTLP/HTTP's: send application/x-protobuf or application/json`,
      )
    try {
      const who = await principalOf(ctx, offeredTokens(c.req.raw, NO_QUERY))
      if (who === undefined || 'refused' in who)
        return statusAnswer(encoding, who?.status ?? 401, who?.refused ?? 'missing or invalid token', {
          'WWW-Authenticate': 'Bearer realm="edgewatch"',
        })
      const answer = await ingestRequest(c, ctx, {
        format: PARSERS[signal]({ encoding, deviceAttributes }),
        contentType: contentType!,
        device: who.role === 'device' ? who.deviceId : undefined,
      })
      return exportAnswer(signal, encoding, answer)
    } catch (e) {
      if (!(e instanceof ApiError)) throw e
      return statusAnswer(
        encoding,
        otlpStatus(e.status),
        e.message,
        e.status >= 500 ? retryLater(e) : e.headers,
      )
    }
  }

  for (const signal of ['logs', 'metrics'] as const)
    app.post(OTLP_PATHS[signal], async (c) => {
      const answer = await accept(c, signal)
      return c.body(answer.body as Uint8Array<ArrayBuffer> | string, answer.status, answer.headers)
    })
}

/** The status OTLP/HTTP gives an error: 429 and 503 are retried by exporters, other 4xx are not. */
function otlpStatus(status: number): Exclude<OtlpAnswer['status'], 200> {
  if (
    status === 401 ||
    status === 403 ||
    status === 413 ||
    status === 415 ||
    status === 422 ||
    status === 429
  )
    return status
  // Nothing of a request that failed on the server was stored: the exporter may send it again.
  if (status >= 500) return 503
  return 400
}

function retryLater(e: ApiError): Record<string, string> {
  return { 'Retry-After': '1', ...e.headers }
}

function document(app: OpenAPIHono<AppEnv>): void {
  const responses = {
    200: {
      description:
        'Stored. An Export*ServiceResponse in the request encoding; `partialSuccess` counts the rejected log records or data points and quotes the first reasons (the others were stored)',
    },
    400: { description: 'Not an OTLP request, or every record was rejected (google.rpc.Status)' },
    401: { description: 'Missing or wrong token' },
    403: { description: 'A device token with another device, or a revoked device' },
    413: { description: 'Body larger than the limit (also after decompression)' },
    415: {
      description:
        'Content-Type other than application/x-protobuf or application/json, or an unsupported Content-Encoding',
    },
    503: { description: 'Overloaded or failed, nothing stored: retry after Retry-After' },
  }
  const body = {
    required: true,
    content: {
      'application/x-protobuf': { schema: z.string().openapi({ format: 'binary' }) },
      'application/json': { schema: z.object({}).passthrough() },
    },
  }
  for (const [signal, what] of [
    ['logs', 'an ExportLogsServiceRequest: each log record is a record (severity as level, body as msg)'],
    [
      'metrics',
      'an ExportMetricsServiceRequest: the data points of one device, time, attribute set, resource and scope are one record of their metrics (a name repeated there starts another record)',
    ],
  ] as const)
    app.openAPIRegistry.registerPath({
      method: 'post',
      path: OTLP_PATHS[signal],
      summary: `Export OpenTelemetry ${signal} (OTLP/HTTP)`,
      description:
        `OTLP/HTTP ${what}. The device id is the first of the configured attributes (device.id, then service.instance.id) present on the entry, then on its resource. ` +
        '`Authorization: Bearer <token>`; `Content-Encoding: gzip` is accepted.',
      request: { body },
      responses,
    })
}
