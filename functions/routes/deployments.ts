// Deployments, for admins: send a release to devices (listed, or by labels) in batches with a bake
// time, a failure threshold and a health gate; watch one (state, counts by device app state, its
// devices with their reasons); pause, resume, abort or roll it back.
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi'
import type { AppContext } from '../app-context.js'
import type { Control } from '../domain/apps/rollout.js'
import { presentDeployment, presentDeploymentView } from '../domain/present.js'
import {
  DeploymentRequest,
  DeploymentSchema,
  DeploymentViewQuery,
  DeploymentViewSchema,
} from '../http/apps-schemas.js'
import type { AppEnv } from '../http/env.js'
import { readJson } from '../http/json-body.js'
import { json, jsonError, PageQuerySchema } from '../http/schemas.js'

const security = [{ bearer: [] }]
const common = { 400: jsonError('Invalid request'), 401: jsonError('Missing or wrong token') }
const idParam = z.object({ id: z.string().min(1).max(64) })

const CONTROLS: Record<Control, string> = {
  pause: 'Pause a rolling deployment: no further batch starts',
  resume: 'Resume a paused deployment',
  abort: 'Stop a deployment: devices that got the release keep it, the others stay as they were',
  rollback: 'Send every device of the deployment back to the release it ran before',
}

export function deploymentRoutes(app: OpenAPIHono<AppEnv>, ctx: AppContext): void {
  const { deployments } = ctx.apps

  app.openAPIRegistry.registerPath({
    method: 'post',
    path: '/v1/deployments',
    summary: 'Deploy a release to devices, in batches',
    security,
    request: { body: { content: { 'application/json': { schema: DeploymentRequest } } } },
    responses: {
      201: json(DeploymentSchema, 'The deployment, rolling'),
      404: jsonError('No such release'),
      ...common,
    },
  })
  app.post('/v1/deployments', async (c) => {
    const req = await readJson(c.req.raw, DeploymentRequest)
    const gate = req.rollout.healthGate
    const deployment = await deployments.create({
      appId: req.app,
      target: req.target,
      rollout: {
        batches: req.rollout.batches,
        bakeMs: req.rollout.bake,
        maxFailures: req.rollout.maxFailures,
        healthGate: gate === false ? null : gate === true ? { margin: 0.1 } : gate,
      },
    })
    return c.json(presentDeployment(deployment), 201)
  })

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/deployments',
      summary: 'Deployments, newest first',
      security,
      request: { query: PageQuerySchema },
      responses: {
        200: json(z.object({ items: z.array(DeploymentSchema), next: z.string().nullable() }), 'A page'),
        ...common,
      },
    }),
    async (c) => {
      const page = await deployments.list(c.req.valid('query'))
      return c.json({ items: page.items.map(presentDeployment), next: page.next }, 200)
    },
  )

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/deployments/{id}',
      summary: 'A deployment: its state, device counts by app state, and a page of its devices with reasons',
      description:
        'Device app states: `pending`, `downloading`, `starting`, `running`, `failed`, `stopped`, `rolled_back`, and ' +
        '`deferred` (offline and not yet running it: it catches up when it returns, and never fails the deployment).',
      security,
      request: { params: idParam, query: DeploymentViewQuery },
      responses: {
        200: json(DeploymentViewSchema, 'The deployment'),
        404: jsonError('No such deployment'),
        ...common,
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param')
      const view = await deployments.view(id, c.req.valid('query'))
      return c.json(presentDeploymentView(view), 200)
    },
  )

  for (const action of Object.keys(CONTROLS) as Control[]) {
    app.openapi(
      createRoute({
        method: 'post',
        path: `/v1/deployments/{id}/${action}`,
        summary: CONTROLS[action],
        security,
        request: { params: idParam },
        responses: {
          200: json(DeploymentSchema, 'The deployment'),
          404: jsonError('No such deployment'),
          409: jsonError('Not in a state that allows it'),
          ...common,
        },
      }),
      async (c) => {
        const { id } = c.req.valid('param')
        return c.json(presentDeployment(await deployments.control(id, action)), 200)
      },
    )
  }
}
