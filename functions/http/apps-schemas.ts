// Schemas of the app and deployment routes: the upload's query (a release's limits), the deployment
// request, and the answers (for /openapi.json). Every number is bounded: a release cannot ask a
// device for more than a microcontroller has.
import { z } from '@hono/zod-openapi'
import { parseDuration } from '../config.js'
import { DEPLOYMENT_STATES, DEVICE_APP_STATES } from '../domain/apps/rollout.js'
import { Labels } from './fleet-schemas.js'

const token = (max: number, what: string) =>
  z
    .string()
    .min(1)
    .max(max)
    .regex(
      /^[A-Za-z0-9][A-Za-z0-9._+-]*$/,
      `${what}: letters, digits and . _ + - (starting with a letter or digit)`,
    )

const int = (min: number, max: number, fallback: number, description: string) =>
  z.coerce.number().int().min(min).max(max).default(fallback).openapi({ type: 'integer', description })

export const AppUploadQuery = z
  .object({
    name: token(64, 'name'),
    version: token(32, 'version'),
    memoryPages: int(1, 256, 1, 'maximum linear memory, in 64 KiB pages (default 1)'),
    fuel: int(
      1,
      1_000_000_000,
      1_000_000,
      'CPU budget per tick, in metered instructions (default 1,000,000)',
    ),
    tickMs: int(10, 3_600_000, 1000, 'how often tick() is called (default 1000)'),
    wallMs: int(1, 60_000, 100, 'wall-clock watchdog per tick, ms (default 100)'),
    maxRestarts: int(0, 100, 3, 'restarts after a trap before the app is failed (default 3)'),
    telemetry: z.enum(['add', 'replace']).default('add').openapi({
      description: '`add`: emitted metrics travel beside the readings; `replace`: instead of them',
    }),
  })
  .strict()

/** A share: a number from 0 to 1 or a percentage such as "10%". */
const share = z
  .union([z.number().min(0).max(1), z.string().regex(/^\d{1,3}(\.\d+)?%$/, 'a share such as 10%')])
  .transform((v, ctx) => {
    const n = typeof v === 'number' ? v : Number(v.slice(0, -1)) / 100
    if (n > 1) ctx.addIssue({ code: 'custom', message: 'a share is at most 100%' })
    return n
  })

/** Milliseconds, or a duration such as 30s or 5m; 0 for none. */
const duration = z
  .union([
    z
      .number()
      .int()
      .min(0)
      .max(7 * 86_400_000),
    z.string().max(20),
  ])
  .transform((v, ctx) => {
    if (typeof v === 'number' || /^\s*0+\s*(ms|s|m|h|d)?\s*$/i.test(v)) return typeof v === 'number' ? v : 0
    try {
      return parseDuration(v, 'bake')
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: (e as Error).message })
      return z.NEVER
    }
  })

const batch = z.union([
  z.number().int().min(1).max(1_000_000),
  z.string().regex(/^\d{1,3}(\.\d+)?%$/, 'a batch is a device count or a share such as 10%'),
])

export const DeploymentRequest = z
  .object({
    app: z.string().min(1).max(64).openapi({ description: 'the app release id' }),
    target: z.union([
      z.object({ devices: z.array(z.string().min(1).max(128)).min(1).max(1000) }).strict(),
      z
        .object({ labels: Labels.refine((l) => Object.keys(l).length > 0, 'give at least one label') })
        .strict(),
    ]),
    rollout: z
      .object({
        batches: z.array(batch).min(1).max(10).default(['100%']).openapi({
          description: 'cumulative batch sizes, e.g. [1, "10%", "100%"]; the last covers every device',
        }),
        bake: duration.default(0).openapi({ description: 'how long a batch runs before the next starts' }),
        maxFailures: share
          .default(0)
          .openapi({ description: "share of a batch's devices that may fail before the deployment halts" }),
        healthGate: z
          .union([z.boolean(), z.object({ margin: share }).strict()])
          .default(false)
          .openapi({
            description:
              "halt when the share of a batch's devices with anomalies after the release passes the share before it by more than `margin` (default 10%)",
          }),
      })
      .strict()
      .default({ batches: ['100%'], bake: 0, maxFailures: 0, healthGate: false }),
  })
  .strict()

export const DeploymentViewQuery = z.object({
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(1000)
    .default(100)
    .openapi({ type: 'integer', description: 'devices per page' }),
  cursor: z
    .string()
    .max(1024)
    .optional()
    .openapi({ description: 'the `devices.next` value of the previous page' }),
})

export const AppSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    version: z.string(),
    sha256: z.string(),
    size: z.number().int(),
    limits: z.object({
      memoryPages: z.number().int(),
      fuel: z.number().int(),
      tickMs: z.number().int(),
      wallMs: z.number().int(),
      maxRestarts: z.number().int(),
    }),
    telemetry: z.enum(['add', 'replace']),
    imports: z.array(z.string()),
    createdAt: z.string(),
  })
  .openapi('App')

export const DeploymentSchema = z
  .object({
    id: z.string(),
    app: z.string(),
    appName: z.string(),
    target: z.object({
      devices: z.array(z.string()).optional(),
      labels: z.record(z.string(), z.string()).optional(),
    }),
    rollout: z.object({
      batches: z.array(z.number().int()),
      bakeMs: z.number(),
      maxFailures: z.number(),
      healthGate: z.object({ margin: z.number() }).nullable(),
    }),
    state: z.enum(DEPLOYMENT_STATES),
    batch: z.number().int().openapi({ description: 'the batch being rolled out (1-based)' }),
    reason: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('Deployment')

export const DeploymentViewSchema = DeploymentSchema.extend({
  appVersion: z.string().nullable(),
  devicesTotal: z.number().int(),
  counts: z.record(z.enum(DEVICE_APP_STATES), z.number().int()),
  devices: z.object({
    items: z.array(
      z.object({
        deviceId: z.string(),
        batch: z.number().int(),
        state: z.enum(DEVICE_APP_STATES),
        reason: z.string().nullable(),
        runningAt: z.string().nullable(),
        reportedAt: z.string().nullable(),
        report: z.record(z.string(), z.unknown()).nullable(),
      }),
    ),
    next: z.string().nullable(),
  }),
}).openapi('DeploymentView')
