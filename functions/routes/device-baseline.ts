// POST /v1/devices/:id/baseline: the device's normal state, for its `state` detector, learnt again
// from its stored records in a time range (functions/domain/baseline.ts).
import type { OpenAPIHono } from '@hono/zod-openapi'
import { z } from '@hono/zod-openapi'
import type { AppContext } from '../app-context.js'
import type { AppEnv } from '../http/env.js'
import { readJson } from '../http/json-body.js'
import { deviceIdParam, epochMs, json, jsonError } from '../http/schemas.js'

const instant = (name: string) =>
  z
    .union([z.number(), z.string().max(40)])
    .transform(epochMs(name))
    .openapi({ description: `${name} (ISO-8601 or epoch milliseconds)`, example: '2026-11-23T00:00:00Z' })

export const BaselineRequest = z
  .object({ from: instant('from: the first instant of the range'), to: instant('to: the end, excluded') })
  .strict()
  .openapi('BaselineRequest')

const BaselineAnswer = z
  .object({
    deviceId: z.string(),
    from: z.string(),
    to: z.string(),
    rows: z.number().openapi({ description: 'records of the device with metrics in the range, all learnt' }),
    metrics: z.array(z.string()).openapi({ description: 'the metrics modelled (the first 16 seen)' }),
  })
  .openapi('Baseline')

export function deviceBaselineRoute(app: OpenAPIHono<AppEnv>, ctx: AppContext): void {
  app.openAPIRegistry.registerPath({
    method: 'post',
    path: '/v1/devices/{id}/baseline',
    summary: "Learn the device's normal state (the state detector) from its records in a time range",
    description:
      'Every record of the device in [from, to) that carries metrics is a row of the baseline (at most 100,000). ' +
      'The state detector is fitted on them and from then on flags records far from that state (kind `state`).',
    security: [{ bearer: [] }],
    request: {
      params: z.object({ id: deviceIdParam }),
      body: { content: { 'application/json': { schema: BaselineRequest } } },
    },
    responses: {
      200: json(BaselineAnswer, 'The baseline learnt'),
      400: jsonError('invalid_request, invalid_range, baseline_too_short, baseline_too_long'),
      401: jsonError('Missing or wrong token'),
      409: jsonError('state_detector_off, baseline_conflict (retry)'),
      501: jsonError('not_supported: this runtime has no state detector'),
    },
  })
  app.post('/v1/devices/:id/baseline', async (c) => {
    const id = c.req.param('id')
    const { from, to } = await readJson(c.req.raw, BaselineRequest)
    const learnt = await ctx.ingestor.learnBaseline(id, from, to)
    return c.json(
      { ...learnt, from: new Date(learnt.from).toISOString(), to: new Date(learnt.to).toISOString() },
      200,
    )
  })
}
