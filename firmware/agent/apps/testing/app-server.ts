// The fake server (../../testing/fake-server.ts) with the app side of the protocol: it answers
// `GET /v1/device/apps/{appId}` with a published module's bytes, and adds the desired set to every
// heartbeat answer. Tests publish releases, set what devices should run, and look at what was
// downloaded and reported.
import type { FakeServer } from '../../testing/fake-server.js'
import type { FetchLike } from '../../transport.js'
import { sha256Hex } from '../download.js'
import type { AppLimits, AppRelease, Telemetry } from '../release.js'

export interface AppServer {
  fetch: FetchLike
  /** The heartbeat answers' `apps`; undefined: the field is left out (an older server). */
  desired: unknown[] | undefined
  /** A release of `bytes` (its sha256 computed), served from now on. */
  publish(
    name: string,
    version: string,
    bytes: Uint8Array,
    options?: { limits?: Partial<AppLimits>; telemetry?: Telemetry; deploymentId?: string },
  ): Promise<AppRelease>
  /** Serve other bytes for a release from now on (its sha256 stays what was published). */
  tamper(appId: string, bytes: Uint8Array): void
  /** appIds downloaded, in order. */
  readonly downloads: string[]
}

export const DEFAULT_LIMITS: AppLimits = {
  memoryPages: 4,
  fuel: 100_000,
  tickMs: 1000,
  wallMs: 1000,
  maxRestarts: 3,
}

export function withApps(server: FakeServer): AppServer {
  const modules = new Map<string, Uint8Array>()
  const downloads: string[] = []
  let seq = 0
  const apps: AppServer = {
    desired: undefined,
    downloads,
    async fetch(url, init) {
      const { pathname } = new URL(url)
      const m = /^\/v1\/device\/apps\/([^/]+)$/.exec(pathname)
      if (m && (init.method ?? 'GET') === 'GET') {
        if (!server.online) throw new TypeError('fetch failed')
        const auth = new Headers(init.headers).get('authorization') ?? ''
        if (!auth.startsWith('Bearer '))
          return Response.json({ error: { code: 'unauthorized', message: 'no token' } }, { status: 401 })
        const appId = decodeURIComponent(m[1]!)
        const bytes = modules.get(appId)
        if (!bytes)
          return Response.json({ error: { code: 'app_not_found', message: 'no such app' } }, { status: 404 })
        downloads.push(appId)
        return new Response(bytes.slice(), { status: 200, headers: { 'content-type': 'application/wasm' } })
      }
      const res = await server.fetch(url, init)
      if (pathname !== '/v1/device/heartbeat' || res.status !== 200 || apps.desired === undefined) return res
      const answer = await res.json()
      const headers = new Headers(res.headers)
      headers.delete('content-length')
      return Response.json({ ...answer, apps: apps.desired }, { status: 200, headers })
    },
    async publish(name, version, bytes, options = {}) {
      const appId = `app-${++seq}-${name}-${version}`
      modules.set(appId, bytes.slice())
      return {
        appId,
        name,
        version,
        sha256: await sha256Hex(bytes),
        size: bytes.length,
        deploymentId: options.deploymentId ?? `dep-${seq}`,
        limits: { ...DEFAULT_LIMITS, ...options.limits },
        telemetry: options.telemetry ?? 'add',
      }
    },
    tamper(appId, bytes) {
      modules.set(appId, bytes.slice())
    },
  }
  return apps
}
