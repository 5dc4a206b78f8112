// App releases, for admins: upload a module (checked by parsing its bytes; the server never runs
// it), list, read, delete (refused while devices run it). Devices download the releases they are
// told to run from /v1/device/apps/{id}, with their own token.
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi'
import type { AppContext } from '../app-context.js'
import { desiredRelease } from '../domain/apps/rollout.js'
import { presentApp } from '../domain/present.js'
import { AppSchema, AppUploadQuery } from '../http/apps-schemas.js'
import { readBody } from '../http/body.js'
import type { AppEnv } from '../http/env.js'
import { ApiError } from '../http/errors.js'
import { json, jsonError, PageQuerySchema } from '../http/schemas.js'

const security = [{ bearer: [] }]
const common = { 400: jsonError('Invalid request'), 401: jsonError('Missing or wrong token') }
const appId = z.string().min(1).max(64)

export function appRoutes(app: OpenAPIHono<AppEnv>, ctx: AppContext): void {
  const { releases } = ctx.apps

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/apps',
      summary: 'Upload an app release: a WebAssembly module (Content-Type: application/wasm) and its limits',
      description:
        'The module is checked against the app ABI (firmware/apps/ABI.md) by parsing it: a bad one gets 400 `invalid_app` ' +
        'with the reason (malformed, a forbidden import, its own memory, memory above the limit, no `tick`, too large).',
      security,
      request: {
        query: AppUploadQuery,
        body: { content: { 'application/wasm': { schema: z.string().openapi({ format: 'binary' }) } } },
      },
      responses: {
        201: json(AppSchema, 'The release'),
        409: jsonError('This name and version exist'),
        415: jsonError('Not application/wasm'),
        ...common,
      },
    }),
    async (c) => {
      const q = c.req.valid('query')
      const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase()
      if (type !== 'application/wasm')
        throw new ApiError(415, 'unsupported_media_type', 'send the module as application/wasm')
      const limit = releases.maxAppBytes
      let bytes: Uint8Array
      try {
        const body = await readBody(c.req.raw, limit)
        if (body.unreadable) throw new ApiError(400, body.unreadable.code, body.unreadable.message)
        bytes = body.bytes
      } catch (e) {
        if (e instanceof ApiError && e.status === 413)
          throw new ApiError(400, 'invalid_app', `the module is larger than the limit of ${limit} bytes`, {
            limit,
          })
        throw e
      }
      const { name, version, telemetry, ...limits } = q
      const release = await releases.upload({ name, version, telemetry, limits }, bytes)
      return c.json(presentApp(release), 201)
    },
  )

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/apps',
      summary: 'App releases, newest first',
      security,
      request: { query: PageQuerySchema },
      responses: {
        200: json(z.object({ items: z.array(AppSchema), next: z.string().nullable() }), 'A page of releases'),
        ...common,
      },
    }),
    async (c) => {
      const page = await ctx.store.apps.listApps(c.req.valid('query'))
      return c.json({ items: page.items.map(presentApp), next: page.next }, 200)
    },
  )

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/apps/{id}',
      summary: 'One app release',
      security,
      request: { params: z.object({ id: appId }) },
      responses: { 200: json(AppSchema, 'The release'), 404: jsonError('No such release'), ...common },
    }),
    async (c) => {
      const { id } = c.req.valid('param')
      const release = await releases.get(id)
      if (!release) throw new ApiError(404, 'not_found', `no app ${id}`)
      return c.json(presentApp(release), 200)
    },
  )

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/v1/apps/{id}',
      summary:
        'Delete an app release; refused (409 `app_deployed`) while devices run it or may go back to it',
      security,
      request: { params: z.object({ id: appId }) },
      responses: {
        200: json(z.object({ deleted: z.string() }), 'Deleted'),
        404: jsonError('No such release'),
        409: jsonError('Deployed'),
        ...common,
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param')
      await releases.delete(id)
      // A body, not a 204: the Spin test host (jco's preview2-shim) fails on a response without one.
      return c.json({ deleted: id }, 200)
    },
  )

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/device/apps/{id}',
      summary:
        'A release the device is to run (or may go back to), as application/wasm; check it against its sha256',
      security,
      request: { params: z.object({ id: appId }) },
      responses: {
        200: { description: 'The module', content: { 'application/wasm': { schema: z.string() } } },
        404: jsonError('Not a release of this device'),
        ...common,
      },
    }),
    async (c) => {
      const principal = c.get('principal')
      if (principal.role !== 'device')
        throw new ApiError(401, 'unauthorized', 'this route needs a device token')
      const { id } = c.req.valid('param')
      const rows = await ctx.store.apps.deviceDeployments([principal.deviceId])
      const mine = rows.some((r) => desiredRelease(r) === id || r.appId === id || r.previousAppId === id)
      const release = mine ? await releases.get(id) : undefined
      const bytes = release ? await ctx.store.apps.appBytes(id) : undefined
      if (!release || !bytes)
        throw new ApiError(404, 'not_found', `app ${id} is not one this device is to run`)
      return c.body(bytes as Uint8Array<ArrayBuffer>, 200, {
        'Content-Type': 'application/wasm',
        ETag: `"${release.sha256}"`,
        'Cache-Control': 'private, max-age=31536000, immutable',
      })
    },
  )
}
