// Enrolment tokens, for admins: made (the token shown once, stored hashed), listed, revoked.
import { type OpenAPIHono, z } from '@hono/zod-openapi'
import type { AppContext } from '../app-context.js'
import { parseDuration } from '../config.js'
import { presentEnrolmentToken } from '../domain/present.js'
import type { AppEnv } from '../http/env.js'
import { ApiError } from '../http/errors.js'
import { EnrolmentTokenRequest } from '../http/fleet-schemas.js'
import { readJson } from '../http/json-body.js'
import { json, jsonError, PageQuerySchema } from '../http/schemas.js'

const security = [{ bearer: [] }]
const TokenSchema = z
  .object({
    id: z.string(),
    labels: z.record(z.string(), z.string()),
    maxUses: z.number().int(),
    uses: z.number().int(),
    expiresAt: z.string(),
    createdAt: z.string(),
    revokedAt: z.string().nullable(),
  })
  .openapi('EnrolmentToken')

export function fleetRoutes(app: OpenAPIHono<AppEnv>, ctx: AppContext): void {
  app.openAPIRegistry.registerPath({
    method: 'post',
    path: '/v1/fleet/enrolment-tokens',
    summary: 'Make an enrolment token: devices enrol with it (the token is in this answer only)',
    security,
    request: { body: { content: { 'application/json': { schema: EnrolmentTokenRequest } } } },
    responses: {
      201: json(TokenSchema.extend({ token: z.string() }), 'The token, shown this once, and what it grants'),
      400: jsonError('Invalid request'),
      401: jsonError('Missing or wrong token'),
    },
  })
  app.post('/v1/fleet/enrolment-tokens', async (c) => {
    const req = await readJson(c.req.raw, EnrolmentTokenRequest)
    let expiresInMs: number
    try {
      expiresInMs = parseDuration(req.expiresIn, 'expiresIn')
    } catch (e) {
      throw new ApiError(400, 'invalid_request', (e as Error).message)
    }
    const { token, record } = await ctx.fleet.enrolments.createToken({ ...req, expiresInMs })
    return c.json({ ...presentEnrolmentToken(record), token }, 201)
  })

  app.openapi(
    {
      method: 'get',
      path: '/v1/fleet/enrolment-tokens',
      summary: 'Enrolment tokens, newest first (never the tokens themselves)',
      security,
      request: { query: PageQuerySchema },
      responses: {
        200: json(z.object({ items: z.array(TokenSchema), next: z.string().nullable() }), 'A page of tokens'),
        400: jsonError('Invalid query'),
        401: jsonError('Missing or wrong token'),
      },
    },
    async (c) => {
      const page = await ctx.store.fleet.listEnrolmentTokens(c.req.valid('query'))
      return c.json({ items: page.items.map(presentEnrolmentToken), next: page.next }, 200)
    },
  )

  app.openAPIRegistry.registerPath({
    method: 'post',
    path: '/v1/fleet/enrolment-tokens/{id}/revoke',
    summary: 'Revoke an enrolment token: no device enrols with it any more (enrolled ones stay)',
    security,
    request: { params: z.object({ id: z.string().max(64) }) },
    responses: {
      200: json(TokenSchema, 'The token, revoked'),
      404: jsonError('No such token'),
      401: jsonError('Missing or wrong token'),
    },
  })
  app.post('/v1/fleet/enrolment-tokens/:id/revoke', async (c) => {
    const id = c.req.param('id')
    const revoked = await ctx.store.fleet.revokeEnrolmentToken(id, ctx.now())
    if (!revoked)
      throw new ApiError(404, 'enrolment_token_not_found', `no enrolment token ${id.slice(0, 64)}`)
    return c.json(presentEnrolmentToken(revoked), 200)
  })
}
