// POST /v1/write (InfluxDB 1.x's /write) and POST /api/v2/write (InfluxDB 2.x's): Influx line
// protocol through the one ingest path, so Telegraf and Influx clients can point at edgewatch.
// The same bounds as POST /v1/ingest (body limit, bodies in flight, queued records), the same
// commit before the answer, dead letters for rejected lines, Idempotency-Key; the answers and
// errors in InfluxDB's shapes (answers.ts). These routes authenticate themselves (credentials.ts).
import type { OpenAPIHono } from '@hono/zod-openapi'
import { z } from '@hono/zod-openapi'
import type { Context } from 'hono'
import type { AppContext } from '../../app-context.js'
import type { AppEnv } from '../../http/env.js'
import { ApiError } from '../../http/errors.js'
import { ingestRequest } from '../../http/ingest-request.js'
import { type InfluxAnswer, type InfluxApi, influxAnswer, influxError } from './answers.js'
import { offeredTokens, principalOf } from './credentials.js'
import { DEFAULT_DEVICE_TAGS, lineProtocolParser, PRECISIONS } from './write-body.js'

export interface InfluxWriteOptions {
  /** Tag keys whose value is a point's device id, the first present wins (default: device, host). */
  deviceTags?: readonly string[] | undefined
}

const PRECISION_HELP: Record<InfluxApi, string> = {
  v1: 'invalid precision; valid precision units are ns (or n), u (or us), ms, s, m and h',
  v2: 'invalid precision; valid precision units are ns, us, ms, and s',
}

class InfluxRefusal extends Error {
  constructor(readonly answer: InfluxAnswer) {
    super(answer.body ?? '')
  }
}

export function influxWriteRoutes(
  app: OpenAPIHono<AppEnv>,
  ctx: AppContext,
  options: InfluxWriteOptions = {},
): void {
  const deviceTags = options.deviceTags ?? DEFAULT_DEVICE_TAGS
  document(app)

  const write = async (c: Context<AppEnv>, api: InfluxApi) => {
    let answer: InfluxAnswer
    try {
      answer = await accept(c, api)
    } catch (e) {
      if (e instanceof InfluxRefusal) answer = e.answer
      else if (e instanceof ApiError) answer = influxError(api, e.status as 400, e.message, e.headers)
      else throw e
    }
    if (answer.body === null) return c.body(null, 204, answer.headers)
    return c.body(answer.body, answer.status as 400, {
      'Content-Type': 'application/json',
      ...answer.headers,
    })
  }

  const accept = async (c: Context<AppEnv>, api: InfluxApi): Promise<InfluxAnswer> => {
    const query = new URL(c.req.url).searchParams
    const who = await principalOf(ctx, offeredTokens(c.req.raw, query))
    if (who === undefined || 'refused' in who) {
      const message = who?.refused ?? (api === 'v1' ? 'authorization failed' : 'unauthorized access')
      throw new InfluxRefusal(influxError(api, who?.status ?? 401, message))
    }
    if (api === 'v1' && !query.get('db'))
      throw new InfluxRefusal(influxError(api, 400, 'database is required'))
    if (api === 'v2' && !query.get('bucket'))
      throw new InfluxRefusal(influxError(api, 404, 'bucket not found'))
    const precision = PRECISIONS[api][query.get('precision') ?? '']
    if (!precision) throw new InfluxRefusal(influxError(api, 400, PRECISION_HELP[api]))

    const answer = await ingestRequest(c, ctx, {
      format: lineProtocolParser({ precision, deviceTags }),
      contentType: c.req.header('content-type') ?? 'text/plain',
      device: who.role === 'device' ? who.deviceId : undefined,
    })
    const influx = influxAnswer(api, answer)
    if (answer.replayed) influx.headers['Idempotent-Replayed'] = 'true'
    return influx
  }

  app.post('/v1/write', (c) => write(c, 'v1'))
  app.post('/api/v2/write', (c) => write(c, 'v2'))
}

function document(app: OpenAPIHono<AppEnv>): void {
  const responses = {
    204: { description: 'Every line was stored (or the body held only blank and comment lines)' },
    400: {
      description:
        "Some or all lines were rejected (InfluxDB's message, e.g. `partial write: unable to parse '<line>': missing field value dropped=1`; valid lines are stored), or a bad parameter",
    },
    401: { description: 'Missing or wrong token' },
    403: { description: 'A device token with a point of another device, or a revoked device' },
    413: { description: 'Body larger than the limit (also after decompression)' },
    415: { description: 'Unsupported Content-Encoding (gzip or none)' },
    422: { description: 'The Idempotency-Key was used before with a different body' },
    500: { description: 'This request could not be analysed or stored (nothing of it was kept)' },
    503: { description: 'Overloaded: retry after Retry-After' },
  }
  const body = {
    required: true,
    content: {
      'text/plain': {
        schema: z.string().openapi({ example: 'cpu,host=pump-7 usage=41.5,procs=12i 1700000000000000000\n' }),
      },
    },
  }
  const headers = z.object({ 'idempotency-key': z.string().max(200).optional() })
  app.openAPIRegistry.registerPath({
    method: 'post',
    path: '/v1/write',
    summary: 'Write Influx line protocol (InfluxDB 1.x /write)',
    description:
      'Each line is a record of the device named by its `device` tag (or `host`, or as configured); numeric and boolean fields are metrics named `measurement.field`. ' +
      'Credentials as InfluxDB 1.x takes them: basic auth or `u`/`p` with the token as password, `Authorization: Token`, or `Bearer`. `Content-Encoding: gzip` is accepted.',
    request: {
      query: z.object({
        db: z.string(),
        precision: z.enum(['ns', 'n', 'us', 'u', 'ms', 's', 'm', 'h']).optional(),
        u: z.string().optional(),
        p: z.string().optional(),
      }),
      headers,
      body,
    },
    responses,
  })
  app.openAPIRegistry.registerPath({
    method: 'post',
    path: '/api/v2/write',
    summary: 'Write Influx line protocol (InfluxDB 2.x /api/v2/write)',
    description:
      'As POST /v1/write, with `Authorization: Token <token>`; errors are `{"code", "message"}` as InfluxDB 2.x gives them.',
    request: {
      query: z.object({
        org: z.string().optional(),
        bucket: z.string(),
        precision: z.enum(['ns', 'us', 'ms', 's']).optional(),
      }),
      headers,
      body,
    },
    responses: { ...responses, 404: { description: 'No bucket given' } },
  })
}
