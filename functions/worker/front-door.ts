// The Worker's front door: it holds no state and sends every request to the shard that owns what the
// request changes (shards.ts says which). A device's own requests go to its shard; a batch from an
// ingest token holding several shards' devices is split (split.ts), each part sent to its shard,
// and the answers merged (merge.ts) into the one a single writer would have given; an Influx write
// likewise (influx.ts), and an OTLP export (otlp.ts). Anything the front door cannot judge as the app would (a wrong token, an
// unsupported type, an invalid key) goes whole to a shard, which answers it exactly as before.

import { DEVICE_TOKEN_PREFIX } from '../domain/fleet/credentials.js'
import { overloaded } from '../domain/ingest.js'
import { formatOf } from '../domain/ingest-body.js'
import { decodeUtf8, readBody } from '../http/body.js'
import { ApiError } from '../http/errors.js'
import { RelayRequest } from '../http/fleet-schemas.js'
import type { InFlight } from '../http/in-flight.js'
import { readJson } from '../http/json-body.js'
import type { InfluxApi } from '../protocols/influx/answers.js'
import { offeredTokens } from '../protocols/influx/credentials.js'
import type { Signal } from '../protocols/otlp/answers.js'
import { DEFAULT_DEVICE_ATTRIBUTES } from '../protocols/otlp/attributes.js'
import { encodingOf } from '../protocols/otlp/request-body.js'
import type { IdempotentAnswer } from '../store/port.js'
import { type Answered, type BatchRoute, errorResponse, ingestRoute } from './batch-route.js'
import { bearerToken, type DeviceTokens } from './device-tokens.js'
import { fingerprint, IDEMPOTENCY_KEY, keyReused, partHash, partKey, reusedKey } from './idempotency.js'
import { influxRoute, influxWrite } from './influx.js'
import { exportOnShards, otlpRefusal, type ShardDoor } from './otlp-export.js'
import { routeOf, SHARD_HEADER, shardOf } from './shards.js'

export interface FrontDoorParts {
  shards: number
  /** Sends a request to a shard's Durable Object. */
  send(shard: number, request: Request): Promise<Response>
  devices: DeviceTokens
  /** Bytes of request bodies the front door holds at once (EDGEWATCH_MAX_INFLIGHT_BYTES). */
  bodies: InFlight
  /** Whether a bearer token is one of the ingest or admin tokens (false when they are misconfigured). */
  isServiceToken(token: string | undefined): boolean
  bodyLimitBytes: number
  idempotencyTtlMs: number
  /** The line protocol tags that name a point's device (EDGEWATCH_INFLUX_DEVICE_TAGS). */
  influxDeviceTags: readonly string[]
  /** The OTLP attributes that name a record's device (EDGEWATCH_OTLP_DEVICE_ATTRIBUTES). */
  otlpDeviceAttributes?: readonly string[]
  /** The stored answer of a part key (the store every shard shares). */
  findIdempotent(key: string, notBefore: number): Promise<IdempotentAnswer | undefined>
}

/** The headers a relayed part's answer keeps (as routes/relay.ts). */
const KEPT_HEADERS = ['content-type', 'retry-after', 'idempotent-replayed', 'www-authenticate']

export class FrontDoor {
  constructor(private readonly p: FrontDoorParts) {}

  fetch(request: Request): Promise<Response> {
    return this.route(request, false)
  }

  /** `relayed`: a part of a relay, whose bytes the relay's own body already counts. */
  private async route(request: Request, relayed: boolean): Promise<Response> {
    if (this.p.shards === 1) return this.send(0, request)
    const url = new URL(request.url)
    const route = routeOf(request.method, url.pathname, url.search)
    switch (route.kind) {
      case 'ingest':
        return this.ingest(request, relayed)
      case 'influx':
        return this.influx(request, route.api)
      case 'otlp':
        return this.otlp(request, route.signal)
      case 'relay':
        return this.relay(request)
      case 'device-token':
        return this.toDevice(request)
      case 'device':
        return this.send(shardOf(route.deviceId, this.p.shards), request)
      case 'shard':
        return this.send(route.index < this.p.shards ? route.index : 0, request)
      default:
        return this.send(0, request)
    }
  }

  private send(
    shard: number,
    request: Request,
    init?: { body: BodyInit; headers: Headers },
  ): Promise<Response> {
    const forwarded = init
      ? new Request(request.url, { method: request.method, ...init })
      : new Request(request)
    forwarded.headers.set(SHARD_HEADER, String(shard))
    return this.p.send(shard, forwarded)
  }

  /** A device's own request: the shard of the device its token names (shard 0 refuses an unknown one). */
  private async toDevice(request: Request): Promise<Response> {
    const device = await this.p.devices.deviceOf(bearerToken(request))
    return this.send(device === undefined ? 0 : shardOf(device, this.p.shards), request)
  }

  private async ingest(request: Request, relayed: boolean): Promise<Response> {
    const token = bearerToken(request)
    if (!this.p.isServiceToken(token)) return this.toDevice(request)
    const format = formatOf(request.headers.get('content-type'))
    const key = request.headers.get('idempotency-key') ?? undefined
    if (!format || (key !== undefined && !IDEMPOTENCY_KEY.test(key))) return this.send(0, request)
    const how = ingestRoute(format, this.p.shards)
    return this.holding(request, !relayed, how.error, () => this.batch(request, key, how))
  }

  /** An Influx write: a device token's goes to its shard, a service token's is cut like a batch. */
  private async influx(request: Request, api: InfluxApi): Promise<Response> {
    const write = influxWrite(request, api)
    const who = await this.holder(write.tokens)
    if (typeof who === 'number') return this.send(who, request)
    const service = who === 'service'
    const key = request.headers.get('idempotency-key') ?? undefined
    if (!service || !write.named || !write.precision || (key !== undefined && !IDEMPOTENCY_KEY.test(key)))
      return this.send(0, request)
    const how = influxRoute(api, write.precision, this.p.influxDeviceTags, this.p.shards)
    return this.holding(request, true, how.error, () => this.batch(request, key, how))
  }

  /**
   * Whose tokens these are, the first that is one deciding, as the Influx and OTLP routes read them
   * (protocols/influx/credentials.ts): a service token's, a device token's shard, or neither.
   */
  private async holder(tokens: string[]): Promise<'service' | number | undefined> {
    for (const token of tokens) {
      if (token.length === 0 || token.length > 512) continue
      if (this.p.isServiceToken(token)) return 'service'
      if (token.startsWith(DEVICE_TOKEN_PREFIX)) {
        const device = await this.p.devices.deviceOf(token)
        return device === undefined ? 0 : shardOf(device, this.p.shards)
      }
    }
    return undefined
  }

  /** An OTLP export: a device token's goes to its shard, a service token's is cut by device (otlp.ts). */
  private async otlp(request: Request, signal: Signal): Promise<Response> {
    const who = await this.holder(offeredTokens(request, new URLSearchParams()))
    if (typeof who === 'number') return this.send(who, request)
    const encoding = encodingOf(request.headers.get('content-type'))
    const key = request.headers.get('idempotency-key') ?? undefined
    if (who !== 'service' || !encoding || (key !== undefined && !IDEMPOTENCY_KEY.test(key)))
      return this.send(0, request)
    const refuse = otlpRefusal(encoding)
    const door: ShardDoor = {
      shards: this.p.shards,
      bodyLimitBytes: this.p.bodyLimitBytes,
      deviceAttributes: this.p.otlpDeviceAttributes ?? DEFAULT_DEVICE_ATTRIBUTES,
      send: (shard, forwarded, init) => this.send(shard, forwarded, init),
      keyReused: (keys, hashes) => this.keyReused(keys, hashes),
    }
    return this.holding(request, true, refuse, () =>
      exportOnShards(door, request, signal, encoding, key, refuse),
    )
  }

  /**
   * The front door holds a body whole until its parts are answered: bodies in flight are bounded
   * here as the app bounds them, by their declared size, else by the whole limit (`counted`: false
   * for a relay's part, which the relay's own body counts); past the bound, 503 overloaded.
   */
  private async holding(
    request: Request,
    counted: boolean,
    refuse: (e: ApiError) => Response,
    work: () => Promise<Response>,
  ): Promise<Response> {
    const declared = Number(request.headers.get('content-length') ?? Number.NaN)
    const limit = this.p.bodyLimitBytes
    const reserved = !counted ? 0 : Number.isFinite(declared) ? Math.min(declared, limit) : limit
    if (!this.p.bodies.take(reserved))
      return refuse(overloaded(`${this.p.bodies.current} bytes of request bodies are in flight`))
    try {
      return await work()
    } finally {
      this.p.bodies.give(reserved)
    }
  }

  /**
   * A batch cut into parts by `how`: each part sent to its shard under its part key, the answers
   * made into the batch's. A batch of one shard goes whole, unchanged but for its key.
   */
  private async batch(request: Request, key: string | undefined, how: BatchRoute): Promise<Response> {
    let body: Awaited<ReturnType<typeof readBody>>
    try {
      body = await readBody(request, this.p.bodyLimitBytes)
    } catch (e) {
      if (e instanceof ApiError) return how.error(e)
      throw e
    }
    const text = body.unreadable ? undefined : decodeUtf8(body.bytes)
    const now = Date.now()
    const plan = text === undefined ? { whole: 0 } : await how.plan(text, now)
    if ('refused' in plan) return how.error(new ApiError(400, 'invalid_body', plan.refused))
    const headers = (part: string | undefined, shard: number) => {
      const h = new Headers(request.headers)
      h.delete('content-length')
      if (!body.unreadable) h.delete('content-encoding') // the shard gets the bytes as the app read them
      if (part !== undefined) h.set('idempotency-key', part)
      h.set(SHARD_HEADER, String(shard))
      return h
    }
    const keys =
      key === undefined
        ? undefined
        : await Promise.all(Array.from({ length: this.p.shards }, (_, i) => partKey(key, i)))
    if ('whole' in plan) {
      if (keys && (await this.keyReused(keys, new Map([[plan.whole, await partHash(body.bytes)]]))))
        return how.error(keyReused())
      return this.send(plan.whole, request, {
        body: body.bytes as Uint8Array<ArrayBuffer>,
        headers: headers(keys?.[plan.whole], plan.whole),
      })
    }
    const salt = keys ? await fingerprint(body.bytes) : ''
    const texts = plan.parts.map((p) => p.text + salt)
    if (keys) {
      const hashes = new Map<number, string>()
      for (const [i, p] of plan.parts.entries()) hashes.set(p.shard, await partHash(texts[i]!))
      if (await this.keyReused(keys, hashes)) return how.error(keyReused())
    }
    // One part after the other, in the order the batch names its shards: the store then numbers
    // what they commit (anomaly and record ids, which break ties between equal times in listings
    // and the export) in the batch's order wherever the devices take turns, as one writer would.
    // Other batches keep the other shards busy meanwhile. The first part refused ends the batch.
    const answers: Answered[] = []
    for (const [i, p] of plan.parts.entries()) {
      const res = await this.send(p.shard, request, {
        body: texts[i]!,
        headers: headers(keys?.[p.shard], p.shard),
      })
      const answered = {
        part: p,
        status: res.status,
        body: await res.text(),
        replayed: res.headers.get('idempotent-replayed') === 'true',
        headers: res.headers,
      }
      answers.push(answered)
      if (!how.accepted(answered)) {
        const headers = new Headers(res.headers)
        headers.delete('content-length')
        return new Response(answered.body, { status: answered.status, headers })
      }
    }
    const merged = how.merge(answers, now)
    const out = new Headers((answers.find((a) => a.status === merged.status) ?? answers[0]!).headers)
    out.delete('content-length')
    if (answers.every((a) => a.replayed)) out.set('idempotent-replayed', 'true')
    else out.delete('idempotent-replayed')
    return new Response(merged.body, { status: merged.status, headers: out })
  }

  /** Whether the parts stored under a key are not this batch's (see idempotency.ts). */
  private async keyReused(keys: string[], hashes: Map<number, string>): Promise<boolean> {
    const notBefore = Date.now() - this.p.idempotencyTtlMs
    const stored = await Promise.all(keys.map((k) => this.p.findIdempotent(k, notBefore)))
    return reusedKey(stored, hashes)
  }

  /** A gateway's relay: each part is routed as if it had come alone, the answers kept in order. */
  private relay(request: Request): Promise<Response> {
    return this.holding(request, true, errorResponse, () => this.relayParts(request))
  }

  private async relayParts(request: Request): Promise<Response> {
    let parts: { path: string; headers: Record<string, string>; body: string }[]
    try {
      ;({ parts } = await readJson(request, RelayRequest, this.p.bodyLimitBytes))
    } catch (e) {
      if (e instanceof ApiError) return errorResponse(e)
      throw e
    }
    const answers = await Promise.all(
      parts.map(async (part) => {
        const res = await this.route(
          new Request(`http://relay${part.path}`, { method: 'POST', headers: part.headers, body: part.body }),
          true,
        )
        const headers: Record<string, string> = {}
        for (const name of KEPT_HEADERS) {
          const value = res.headers.get(name)
          if (value !== null) headers[name] = value
        }
        return { status: res.status, headers, body: await res.text() }
      }),
    )
    return Response.json({ parts: answers }, { status: 200 })
  }
}
