// Schemas of the live feed routes (GET /v1/stream, GET /v1/stream/poll).
import { z } from '@hono/zod-openapi'
import { FEED_MAX_BATCH } from '../domain/feed/feed.js'
import { AnomalySchema, limitParam, timeParam } from './schemas.js'

const cursor = z
  .string()
  .max(1024)
  .optional()
  .openapi({
    description:
      'where to continue: the `id` of the last event received (SSE) or the `next` of the last poll; ' +
      'events follow strictly after it',
  })
const since = timeParam(
  'since',
  'without a cursor: start with what was stored at or after this time (default: from now on, nothing older)',
)

export const StreamQuerySchema = z.object({ cursor, since })

export const StreamHeadersSchema = z.object({
  'last-event-id': z.string().max(1024).optional().openapi({
    description:
      'what an EventSource sends when it reconnects: continues after it (wins over `cursor` and `since`)',
  }),
})

export const PollQuerySchema = z.object({ cursor, since, limit: limitParam(FEED_MAX_BATCH, 500) })

export const DeviceFeedEventSchema = z
  .object({
    id: z.number().int(),
    deviceId: z.string(),
    ts: z.string(),
    kind: z.string().openapi({ example: 'unreachable' }),
    detail: z.string().nullable(),
    status: z.string().nullable().openapi({ description: "the device's status when the event was sent" }),
  })
  .openapi('DeviceFeedEvent')

export const FeedEventSchema = z
  .object({
    id: z.string().openapi({ description: 'the cursor right after this event' }),
    event: z.enum(['anomaly', 'device']),
    data: z.union([AnomalySchema, DeviceFeedEventSchema]),
  })
  .openapi('FeedEvent')

export const FeedPageSchema = z
  .object({
    items: z.array(FeedEventSchema),
    next: z
      .string()
      .openapi({ description: 'the cursor to poll with next (also when there were no events)' }),
  })
  .openapi('FeedPage')
