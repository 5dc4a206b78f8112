// Schemas of the fleet routes: request bodies (checked by readJson), queries, and answers (for
// /openapi.json). Strings and lists are bounded: a device or an admin cannot store a novel.
import { z } from '@hono/zod-openapi'
import { DEVICE_STATUSES } from '../domain/types.js'
import { cursorParam, limitParam } from './schemas.js'

const labelKey = z.string().min(1).max(64)
export const Labels = z
  .record(labelKey, z.string().max(256))
  .refine((l) => Object.keys(l).length <= 32, 'at most 32 labels')
  .openapi({ example: { site: 'plant-3', line: 'a' } })

export const EnrolmentTokenRequest = z
  .object({
    labels: Labels.default({}),
    maxUses: z.number().int().min(1).max(1_000_000).default(1),
    expiresIn: z.string().max(20).default('24h').openapi({ description: 'a duration: 30m, 24h, 7d' }),
  })
  .strict()

const name = z.string().min(1).max(128)
const signature = z.string().min(1).max(200)

export const EnrolRequest = z
  .object({
    publicKey: z
      .record(z.string(), z.unknown())
      .openapi({ description: 'the device public key, an EC P-256 JWK' }),
    name: name.optional(),
    agent: z
      .object({ version: z.string().max(64).optional(), platform: z.string().max(64).optional() })
      .optional(),
    timestamp: z.number().openapi({ description: 'epoch ms; signed with the key' }),
    signature,
  })
  .strict()

export const ChallengeRequest = z.object({ deviceId: z.string().min(1).max(128) }).strict()
export const TokenRequest = z
  .object({ deviceId: z.string().min(1).max(128), challenge: z.string().min(1).max(100), signature })
  .strict()

/** What an agent reports; other fields are kept too, within the size bound. */
export const HeartbeatRequest = z
  .object({
    uptimeMs: z.number().min(0).optional(),
    agentVersion: z.string().max(64).optional(),
    freeMemoryBytes: z.number().min(0).nullable().optional(),
    outboxDepth: z.number().int().min(0).optional(),
    outboxDropped: z.number().int().min(0).optional(),
    apps: z.array(z.record(z.string(), z.unknown())).max(64).optional(),
  })
  .passthrough()
  .refine((b) => JSON.stringify(b).length <= 16_384, 'a heartbeat is at most 16 KiB of JSON')

export const DevicePatch = z
  .object({ name: name.optional(), labels: Labels.optional() })
  .strict()
  .refine((p) => p.name !== undefined || p.labels !== undefined, 'give name or labels')

export const DeviceListQuery = z.object({
  limit: limitParam(1000, 100),
  cursor: cursorParam,
  status: z.enum(DEVICE_STATUSES).optional(),
  label: z
    .string()
    .max(400)
    .regex(/^[^=]{1,64}=.{0,256}$/, 'a label filter is key=value')
    .optional()
    .openapi({ description: 'only devices with this label, as key=value' }),
})

export const RelayRequest = z
  .object({
    parts: z
      .array(
        z
          .object({
            method: z.literal('POST'),
            path: z.enum(['/v1/ingest', '/v1/device/heartbeat', '/v1/device/goodbye']),
            headers: z
              .record(z.string().max(64), z.string().max(1024))
              .refine((h) => Object.keys(h).length <= 16),
            body: z.string(),
          })
          .strict(),
      )
      .min(1)
      .max(1000),
  })
  .strict()
