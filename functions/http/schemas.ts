// Request and response schemas: they validate query strings and generate /openapi.json.
import { z } from '@hono/zod-openapi'
import { parseTimestamp } from '../domain/time.js'
import { DEVICE_STATUSES } from '../domain/types.js'

export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: 'invalid_query' }),
      message: z.string(),
      details: z.unknown(),
    }),
  })
  .openapi('Error')

/** A zod transform: a timestamp (ISO-8601 or epoch ms) to epoch ms, or an issue naming `name`. */
export const epochMs =
  (name: string) =>
  (v: string | number, ctx: z.RefinementCtx): number => {
    const ms = parseTimestamp(v)
    if (typeof ms === 'string') {
      ctx.addIssue({ code: 'custom', message: `${name}: ${ms}` })
      return z.NEVER
    }
    return ms
  }

export const timeParam = (name: string, what: string) =>
  z
    .string()
    .max(40)
    .transform(epochMs(name))
    .optional()
    .openapi({ description: `${what} (ISO-8601 or epoch milliseconds)`, example: '2026-11-23T00:00:00Z' })

export const limitParam = (max: number, fallback: number) =>
  z.coerce
    .number()
    .int()
    .min(1)
    .max(max)
    .default(fallback)
    .openapi({ type: 'integer', description: `page size, 1-${max}` })

export const cursorParam = z
  .string()
  .max(1024)
  .optional()
  .openapi({ description: 'the `next` value of the previous page' })
export const deviceIdParam = z.string().min(1).max(128)

export const AnomalyQuerySchema = z.object({
  deviceId: deviceIdParam.optional(),
  kind: z.string().min(1).max(64).optional(),
  since: timeParam('since', 'only anomalies at or after this time'),
  until: timeParam('until', 'only anomalies before this time'),
  limit: limitParam(1000, 100),
  cursor: cursorParam,
})

export const ExportQuerySchema = z.object({
  deviceId: deviceIdParam.optional(),
  since: timeParam('since', 'only records at or after this time'),
  until: timeParam('until', 'only records before this time'),
  order: z.enum(['time', 'arrival']).default('time').openapi({
    description:
      '`time`: by ts, then storage order. `arrival`: the order records were stored in, which is the order the detectors saw them',
  }),
})

export const PageQuerySchema = z.object({ limit: limitParam(1000, 100), cursor: cursorParam })

export const AnomalySchema = z
  .object({
    id: z.number().int().optional(),
    deviceId: z.string(),
    ts: z.string().openapi({ description: 'ISO-8601' }),
    kind: z.string().openapi({ example: 'spike' }),
    metric: z.string().nullable(),
    value: z.number().nullable(),
    score: z.number().min(0).max(1),
    detail: z.string().nullable(),
  })
  .openapi('Anomaly')

export const AnomalyPageSchema = z
  .object({ items: z.array(AnomalySchema), next: z.string().nullable() })
  .openapi('AnomalyPage')

export const DeviceSchema = z
  .object({
    deviceId: z.string(),
    status: z.enum(DEVICE_STATUSES),
    name: z.string().nullable(),
    labels: z.record(z.string(), z.string()),
    firstSeen: z.string(),
    lastSeen: z.string().nullable().openapi({ description: 'when its last record arrived; null for none' }),
    lastTs: z.string().nullable().openapi({ description: 'the time of its newest record; null for none' }),
    recordCount: z.number().int(),
    anomalyCount: z.number().int(),
    enrolledAt: z.string().nullable(),
    lastHeartbeat: z.string().nullable(),
    agentVersion: z.string().nullable(),
    heartbeat: z.record(z.string(), z.unknown()).nullable().openapi({ description: 'its last heartbeat' }),
    lastHour: z.object({ records: z.number().int(), anomalies: z.number().int() }).openapi({
      description:
        'records and anomalies stored in the last hour (the current minute of arrival and the 59 before it)',
    }),
  })
  .openapi('Device')

export const DevicePageSchema = z
  .object({ items: z.array(DeviceSchema), next: z.string().nullable() })
  .openapi('DevicePage')

export const WindowSchema = z
  .object({
    start: z.string(),
    end: z.string(),
    count: z.number(),
    mean: z.number(),
    std: z.number(),
    min: z.number(),
    max: z.number(),
    range: z.number(),
  })
  .openapi('WindowFeatures')

export const SeriesSchema = z
  .object({
    deviceId: z.string(),
    metric: z.string(),
    samples: z.number().int().openapi({ description: 'samples the detectors have seen for this series' }),
    values: z.array(
      z.object({ ts: z.string(), value: z.number(), score: z.number(), anomalies: z.array(z.string()) }),
    ),
    windows: z.array(WindowSchema),
  })
  .openapi('Series')

export const DeadLetterSchema = z
  .object({
    id: z.number().int(),
    receivedAt: z.string(),
    position: z.string().openapi({ example: 'line 3' }),
    reason: z.string(),
    contentType: z.string(),
    raw: z.string(),
    truncated: z.object({ bytes: z.number().int(), sha256: z.string() }).nullable().openapi({
      description:
        "Set when `raw` was cut to fit a row (256 Ki characters): the whole input's size in bytes and its sha256",
    }),
  })
  .openapi('DeadLetter')

export const DeadLetterPageSchema = z
  .object({ items: z.array(DeadLetterSchema), next: z.string().nullable() })
  .openapi('DeadLetterPage')

export const IngestResultSchema = z
  .object({
    accepted: z.number().int(),
    rejectedCount: z.number().int(),
    rejected: z
      .array(
        z.object({
          index: z.number().int().optional(),
          line: z.number().int().optional(),
          reason: z.string(),
        }),
      )
      .openapi({
        description:
          'the first 100 rejected entries, each also a dead letter; past them, one more dead letter keeps the whole body',
      }),
    anomalyCount: z.number().int().openapi({ description: 'every anomaly found in this request' }),
    anomalies: z.array(AnomalySchema).openapi({ description: 'the first 1000 of them' }),
  })
  .openapi('IngestResult')

export const jsonError = (description: string) => ({
  content: { 'application/json': { schema: ErrorSchema } },
  description,
})
export const json = <T extends z.ZodType>(schema: T, description: string) => ({
  content: { 'application/json': { schema } },
  description,
})
