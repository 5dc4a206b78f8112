// Devices for admins: the list (with status, filters on status and a label), one device, naming
// and labelling it, revoking it, and its events.
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi'
import type { AppContext } from '../app-context.js'
import { lastHour } from '../domain/fleet/activity.js'
import { presentDevice, presentDeviceEvent } from '../domain/present.js'
import type { DeviceSummary } from '../domain/types.js'
import type { AppEnv } from '../http/env.js'
import { ApiError } from '../http/errors.js'
import { DeviceListQuery, DevicePatch } from '../http/fleet-schemas.js'
import { readJson } from '../http/json-body.js'
import {
  DevicePageSchema,
  DeviceSchema,
  deviceIdParam,
  json,
  jsonError,
  PageQuerySchema,
} from '../http/schemas.js'
import { deviceBaselineRoute } from './device-baseline.js'

const security = [{ bearer: [] }]
const common = { 400: jsonError('Invalid request'), 401: jsonError('Missing or wrong token') }
const EventPageSchema = z
  .object({
    items: z.array(
      z.object({
        id: z.number(),
        deviceId: z.string(),
        ts: z.string(),
        kind: z.string(),
        detail: z.string().nullable(),
      }),
    ),
    next: z.string().nullable(),
  })
  .openapi('DeviceEventPage')

export function deviceRoutes(app: OpenAPIHono<AppEnv>, ctx: AppContext): void {
  const notFound = (id: string) => new ApiError(404, 'device_not_found', `no device ${id.slice(0, 128)}`)
  /** Devices as answered, each with its last hour: one query for the whole page. */
  const present = async (devices: DeviceSummary[]) => {
    const activity = await lastHour(
      ctx.store.fleet,
      devices.map((d) => d.deviceId),
      ctx.now(),
    )
    return devices.map((d) => presentDevice(d, activity(d.deviceId)))
  }
  const presentOne = async (device: DeviceSummary) => (await present([device]))[0]!
  deviceBaselineRoute(app, ctx)

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/devices',
      summary: 'List devices with their status, labels, last heartbeat, record counts and last hour',
      description:
        'By device id. Status is derived when read: `unmanaged` (records only, never enrolled), `pending` (enrolled, never heard from), ' +
        '`connected` (heard within the heartbeat timeout), `unreachable`, `disconnected` (said goodbye), `revoked`.',
      security,
      request: { query: DeviceListQuery },
      responses: { 200: json(DevicePageSchema, 'A page of devices'), ...common },
    }),
    async (c) => {
      const q = c.req.valid('query')
      const eq = q.label?.indexOf('=') ?? -1
      const page = await ctx.store.listDevices({
        limit: q.limit,
        cursor: q.cursor,
        status: q.status,
        label: q.label ? { key: q.label.slice(0, eq), value: q.label.slice(eq + 1) } : undefined,
        liveness: ctx.liveness(),
      })
      return c.json({ items: await present(page.items), next: page.next }, 200)
    },
  )

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/devices/{id}',
      summary: 'One device',
      security,
      request: { params: z.object({ id: deviceIdParam }) },
      responses: { 200: json(DeviceSchema, 'The device'), 404: jsonError('Unknown device'), ...common },
    }),
    async (c) => {
      const { id } = c.req.valid('param')
      const device = await ctx.store.getDevice(id, ctx.liveness())
      if (!device) throw notFound(id)
      return c.json(await presentOne(device), 200)
    },
  )

  app.openAPIRegistry.registerPath({
    method: 'patch',
    path: '/v1/devices/{id}',
    summary: 'Rename a device or replace its labels',
    security,
    request: {
      params: z.object({ id: deviceIdParam }),
      body: { content: { 'application/json': { schema: DevicePatch } } },
    },
    responses: { 200: json(DeviceSchema, 'The device'), 404: jsonError('Unknown device'), ...common },
  })
  app.patch('/v1/devices/:id', async (c) => {
    const id = c.req.param('id')
    const change = await readJson(c.req.raw, DevicePatch)
    if (!(await ctx.store.fleet.update(id, change, ctx.now()))) throw notFound(id)
    return c.json(await presentOne((await ctx.store.getDevice(id, ctx.liveness()))!), 200)
  })

  app.openAPIRegistry.registerPath({
    method: 'post',
    path: '/v1/devices/{id}/revoke',
    summary: 'Revoke an enrolled device: its tokens stop working at once, it can no longer enrol',
    security,
    request: { params: z.object({ id: deviceIdParam }) },
    responses: {
      200: json(DeviceSchema, 'The device, revoked'),
      404: jsonError('No such enrolled device'),
      ...common,
    },
  })
  app.post('/v1/devices/:id/revoke', async (c) => {
    const id = c.req.param('id')
    if (!(await ctx.store.fleet.revoke(id, ctx.now())))
      throw new ApiError(404, 'device_not_found', `no enrolled device ${id.slice(0, 128)}`)
    ctx.fleet.credentials.forget(id)
    return c.json(await presentOne((await ctx.store.getDevice(id, ctx.liveness()))!), 200)
  })

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/devices/{id}/events',
      summary:
        'What happened to a device (enrolled, connected, unreachable, disconnected, revoked, updated), newest first',
      security,
      request: { params: z.object({ id: deviceIdParam }), query: PageQuerySchema },
      responses: { 200: json(EventPageSchema, 'A page of events'), ...common },
    }),
    async (c) => {
      const { id } = c.req.valid('param')
      const page = await ctx.store.fleet.listEvents(id, c.req.valid('query'))
      return c.json({ items: page.items.map(presentDeviceEvent), next: page.next }, 200)
    },
  )
}
