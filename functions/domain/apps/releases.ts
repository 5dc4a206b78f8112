// App releases: a module uploaded by an admin, checked by parsing its bytes (the server never runs
// an app: workerd cannot compile a module received at run time and Spin has no WebAssembly at all),
// stored once per sha256, and served to the devices told to run it. Releases never change, so the
// ones heartbeats need are kept in memory once read.
import { validateApp } from '../../../firmware/apps/wasm/validate.js'
import { ApiError } from '../../http/errors.js'
import type { AppLimits, AppRelease, AppStore } from '../../store/apps-port.js'
import { base64url } from '../fleet/crypto.js'
import { sha256Hex } from '../hash.js'
import { desiredRelease } from './rollout.js'

/** The largest module accepted unless configured otherwise. */
export const DEFAULT_MAX_APP_BYTES = 256 * 1024

/** Releases kept in memory (each a few hundred bytes). */
const CACHED_RELEASES = 1000

export interface UploadRequest {
  name: string
  version: string
  limits: AppLimits
  telemetry: 'add' | 'replace'
}

export class Releases {
  private readonly cache = new Map<string, AppRelease>()

  constructor(
    private readonly store: AppStore,
    private readonly now: () => number,
    readonly maxAppBytes: number,
  ) {}

  async upload(request: UploadRequest, bytes: Uint8Array): Promise<AppRelease> {
    const check = validateApp(bytes, { maxBytes: this.maxAppBytes, memoryPages: request.limits.memoryPages })
    if (!check.ok) throw new ApiError(400, 'invalid_app', check.reason)
    const release: AppRelease = {
      id: `app_${base64url(crypto.getRandomValues(new Uint8Array(9)))}`,
      name: request.name,
      version: request.version,
      sha256: await sha256Hex(bytes),
      size: bytes.byteLength,
      limits: request.limits,
      telemetry: request.telemetry,
      imports: check.app.imports,
      createdAt: this.now(),
    }
    if (!(await this.store.addApp(release, bytes)))
      throw new ApiError(
        409,
        'app_exists',
        `${request.name} ${request.version} exists: upload it as a new version`,
      )
    return release
  }

  async get(id: string): Promise<AppRelease | undefined> {
    return (await this.getMany([id])).get(id)
  }

  /** The releases of these ids that exist. */
  async getMany(ids: Iterable<string>): Promise<Map<string, AppRelease>> {
    const out = new Map<string, AppRelease>()
    const missing: string[] = []
    for (const id of new Set(ids)) {
      const hit = this.cache.get(id)
      if (hit) out.set(id, hit)
      else missing.push(id)
    }
    if (missing.length === 0) return out
    for (const [id, release] of await this.store.getApps(missing)) {
      out.set(id, release)
      if (this.cache.size >= CACHED_RELEASES) this.cache.delete(this.cache.keys().next().value!)
      this.cache.set(id, release)
    }
    return out
  }

  /** Refused (409 `app_deployed`) while a device is to run it, as a release or as the one to go back to. */
  async delete(id: string): Promise<void> {
    const release = await this.get(id)
    if (!release) throw new ApiError(404, 'not_found', `no app ${id}`)
    // The release its devices ran before is kept too: a rollback sends them back to it.
    const users = (await this.store.appNameDeployments(release.name)).filter(
      (row) => desiredRelease(row) === id || row.previousAppId === id,
    )
    if (users.length > 0)
      throw new ApiError(
        409,
        'app_deployed',
        `${users.length} devices run ${release.name} ${release.version} or may go back to it`,
        {
          devices: users.slice(0, 10).map((u) => u.deviceId),
        },
      )
    this.cache.delete(id)
    await this.store.deleteApp(id)
  }
}
