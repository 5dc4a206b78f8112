// POST /v1/gateway/relay: many devices' requests over one connection, as a gateway carries them.
// Each part is a device's own request (its own token, its own Idempotency-Key) and is answered
// exactly as if it had come alone: parts run through the whole app, concurrently, so their records
// share group commits. The relay itself needs no token: every part is authenticated on its own.
import { type OpenAPIHono, z } from '@hono/zod-openapi'
import type { Context } from 'hono'
import type { AppContext } from '../app-context.js'
import { overloaded } from '../domain/ingest.js'
import type { AppEnv } from '../http/env.js'
import { RelayRequest } from '../http/fleet-schemas.js'
import { readJson } from '../http/json-body.js'
import { json, jsonError } from '../http/schemas.js'

/** The answer headers a device needs from its part. */
const KEPT_HEADERS = ['content-type', 'retry-after', 'idempotent-replayed', 'www-authenticate']

export function relayRoutes(app: OpenAPIHono<AppEnv>, ctx: AppContext): void {
  app.openAPIRegistry.registerPath({
    method: 'post',
    path: '/v1/gateway/relay',
    summary: "Relay up to 1,000 devices' ingest, heartbeat and goodbye requests in one",
    request: { body: { content: { 'application/json': { schema: RelayRequest } } } },
    responses: {
      200: json(
        z.object({
          parts: z.array(
            z.object({ status: z.number(), headers: z.record(z.string(), z.string()), body: z.string() }),
          ),
        }),
        'Each part answered as if sent alone, in order',
      ),
      400: jsonError('Invalid relay body'),
      413: jsonError('Body larger than the limit'),
    },
  })
  app.post('/v1/gateway/relay', async (c) => {
    // The relay's body counts against the bodies in flight once, for all its parts.
    const declared = Number(c.req.header('content-length') ?? Number.NaN)
    const reserved = Number.isFinite(declared) ? Math.min(declared, ctx.bodyLimitBytes) : ctx.bodyLimitBytes
    if (!ctx.bodies.take(reserved)) {
      ctx.metrics.overloaded.inc({ bound: 'body_bytes' })
      throw overloaded(`${ctx.bodies.current} bytes of request bodies are in flight`)
    }
    try {
      return await relay(c.req.raw, c)
    } finally {
      ctx.bodies.give(reserved)
    }
  })

  const relay = async (request: Request, c: Context<AppEnv>) => {
    const { parts } = await readJson(request, RelayRequest, ctx.bodyLimitBytes)
    const answers = await Promise.all(
      parts.map(async (part) => {
        const res = await ctx.dispatch(
          new Request(`http://relay${part.path}`, { method: 'POST', headers: part.headers, body: part.body }),
        )
        const headers: Record<string, string> = {}
        for (const name of KEPT_HEADERS) {
          const value = res.headers.get(name)
          if (value !== null) headers[name] = value
        }
        return { status: res.status, headers, body: await res.text() }
      }),
    )
    return c.json({ parts: answers }, 200)
  }
}
