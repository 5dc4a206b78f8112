// The routes a device calls itself: enrol (with an enrolment token, signed with its key), get a
// challenge and sign it for a short-lived token, then heartbeat and say goodbye with that token.
// Its records go to POST /v1/ingest with the same token. The scheme and its threat model are in
// the README ("Devices").
import { type OpenAPIHono, z } from '@hono/zod-openapi'
import type { AppContext } from '../app-context.js'
import type { AppEnv } from '../http/env.js'
import { ApiError } from '../http/errors.js'
import { ChallengeRequest, EnrolRequest, HeartbeatRequest, TokenRequest } from '../http/fleet-schemas.js'
import { readJson } from '../http/json-body.js'
import { json, jsonError } from '../http/schemas.js'

const deviceSecurity = [{ bearer: [] }]

export function deviceApiRoutes(app: OpenAPIHono<AppEnv>, ctx: AppContext): void {
  const doc = (
    path: string,
    summary: string,
    schema: z.ZodType | undefined,
    answer: z.ZodType,
    codes: string,
  ) =>
    app.openAPIRegistry.registerPath({
      method: 'post',
      path,
      summary,
      ...(path === '/v1/device/heartbeat' || path === '/v1/device/goodbye'
        ? { security: deviceSecurity }
        : {}),
      request: schema ? { body: { content: { 'application/json': { schema } } } } : {},
      responses: {
        200: json(answer, 'Done'),
        400: jsonError(codes),
        401: jsonError(codes),
        403: jsonError(codes),
      },
    })

  doc(
    '/v1/device/enrol',
    'Enrol a device: Authorization carries the enrolment token; the body is signed with the device key',
    EnrolRequest,
    z.object({ deviceId: z.string(), name: z.string().nullable(), labels: z.record(z.string(), z.string()) }),
    'invalid_enrolment_token, enrolment_token_expired, enrolment_token_revoked, enrolment_token_used_up, invalid_public_key, stale_timestamp, invalid_signature, device_revoked',
  )
  app.post('/v1/device/enrol', async (c) => {
    const match = /^Bearer[ ]+(\S+)\s*$/i.exec(c.req.header('authorization') ?? '')
    if (!match)
      throw new ApiError(401, 'invalid_enrolment_token', 'send Authorization: Bearer <enrolment token>')
    const request = await readJson(c.req.raw, EnrolRequest)
    const answer = await ctx.fleet.enrolments.enrol(match[1]!, request)
    const device = await ctx.store.getDevice(answer.deviceId, ctx.liveness())
    return c.json(
      {
        deviceId: answer.deviceId,
        name: device?.name ?? null,
        labels: device?.labels ?? answer.labels,
        status: device?.status ?? 'pending',
        heartbeatIntervalMs: ctx.fleet.options.heartbeatIntervalMs,
        auth: { challenge: '/v1/device/challenge', token: '/v1/device/token' },
      },
      answer.created ? 201 : 200,
    )
  })

  doc(
    '/v1/device/challenge',
    'A single-use challenge (60 s) for a device to sign',
    ChallengeRequest,
    z.object({ challenge: z.string(), expiresAt: z.number() }),
    'unknown_device (404), device_revoked',
  )
  app.post('/v1/device/challenge', async (c) => {
    const { deviceId } = await readJson(c.req.raw, ChallengeRequest)
    return c.json(await ctx.fleet.credentials.challenge(deviceId), 200)
  })

  doc(
    '/v1/device/token',
    "A device token (about 15 min) for a challenge signed with the device's key",
    TokenRequest,
    z.object({ token: z.string(), expiresAt: z.number(), expiresInMs: z.number(), serverTime: z.number() }),
    'invalid_challenge, invalid_signature, unknown_device (404), device_revoked',
  )
  app.post('/v1/device/token', async (c) => {
    const { deviceId, challenge, signature } = await readJson(c.req.raw, TokenRequest)
    return c.json(await ctx.fleet.credentials.token(deviceId, challenge, signature), 200)
  })

  doc(
    '/v1/device/heartbeat',
    'A heartbeat: uptime, agent version, free memory, outbox depth, apps. The answer sets the next interval',
    HeartbeatRequest,
    z.object({
      intervalMs: z.number(),
      timeoutMs: z.number(),
      serverTime: z.number(),
      status: z.string(),
      apps: z.array(z.record(z.string(), z.unknown())).openapi({
        description:
          'the exact set of apps to run: appId, name, version, sha256, size, deploymentId, limits, telemetry',
      }),
    }),
    'invalid_token, token_expired, device_revoked',
  )
  app.post('/v1/device/heartbeat', async (c) => {
    const principal = c.get('principal')
    if (principal.role !== 'device')
      throw new ApiError(401, 'unauthorized', 'this route needs a device token')
    const body = await readJson(c.req.raw, HeartbeatRequest)
    return c.json(await ctx.fleet.heartbeats.beat(principal.deviceId, body as Record<string, unknown>), 200)
  })

  doc(
    '/v1/device/goodbye',
    'The device is going away on purpose: it becomes `disconnected`',
    undefined,
    z.object({ status: z.literal('disconnected') }),
    'invalid_token, token_expired, device_revoked',
  )
  app.post('/v1/device/goodbye', async (c) => {
    const principal = c.get('principal')
    if (principal.role !== 'device')
      throw new ApiError(401, 'unauthorized', 'this route needs a device token')
    await ctx.fleet.store.goodbye(principal.deviceId, ctx.now())
    // A body, not a 204: the Spin test host (jco's preview2-shim) fails on a response without one.
    return c.json({ status: 'disconnected' }, 200)
  })
}
