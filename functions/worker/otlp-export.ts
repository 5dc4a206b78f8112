// An OTLP export through the front door (front-door.ts routes it here): read whole within the
// body limit, cut by device (otlp.ts), each part sent to its shard one after the other as a
// batch's parts are (front-door.ts says why), under its part key when the export has an
// Idempotency-Key (idempotency.ts), and answered in the export's encoding. An export of one shard
// goes whole, unchanged but for its key.
import { readBody } from '../http/body.js'
import { ApiError } from '../http/errors.js'
import { type OtlpAnswer, type Signal, statusAnswer } from '../protocols/otlp/answers.js'
import type { OtlpEncoding } from '../protocols/otlp/request-body.js'
import { fingerprint, keyReused, partHash, partKey } from './idempotency.js'
import { mergeAnswers, planExport, refusalOf, withFingerprint } from './otlp.js'
import { SHARD_HEADER } from './shards.js'

/** What of the front door an export uses. */
export interface ShardDoor {
  shards: number
  bodyLimitBytes: number
  /** The OTLP attributes that name a record's device. */
  deviceAttributes: readonly string[]
  send(shard: number, request: Request, init: { body: BodyInit; headers: Headers }): Promise<Response>
  /** Whether the parts stored under the keys are not this export's (idempotency.ts). */
  keyReused(keys: string[], hashes: Map<number, string>): Promise<boolean>
}

/** How an error the front door finds itself (too large, a reused key) is answered: OTLP's shape. */
export function otlpRefusal(encoding: OtlpEncoding): (e: ApiError) => Response {
  return (e) => otlpResponse(statusAnswer(encoding, e.status as 400, e.message, e.headers))
}

export async function exportOnShards(
  door: ShardDoor,
  request: Request,
  signal: Signal,
  encoding: OtlpEncoding,
  key: string | undefined,
  refuse: (e: ApiError) => Response,
): Promise<Response> {
  let body: Awaited<ReturnType<typeof readBody>>
  try {
    body = await readBody(request, door.bodyLimitBytes)
  } catch (e) {
    if (e instanceof ApiError) return refuse(e)
    throw e
  }
  const plan = body.unreadable
    ? { whole: 0 }
    : planExport(signal, encoding, body.bytes, door.deviceAttributes, door.shards)
  const keys =
    key === undefined
      ? undefined
      : await Promise.all(Array.from({ length: door.shards }, (_, i) => partKey(key, i)))
  const headers = (shard: number, contentType?: string) => {
    const h = new Headers(request.headers)
    h.delete('content-length')
    if (!body.unreadable) h.delete('content-encoding')
    if (contentType) h.set('content-type', contentType)
    if (keys) h.set('idempotency-key', keys[shard]!)
    h.set(SHARD_HEADER, String(shard))
    return h
  }
  if ('whole' in plan) {
    if (keys && (await door.keyReused(keys, new Map([[plan.whole, await partHash(body.bytes)]]))))
      return refuse(keyReused())
    const headersOf = headers(plan.whole)
    return door.send(plan.whole, request, {
      body: body.bytes as Uint8Array<ArrayBuffer>,
      headers: headersOf,
    })
  }
  const salt = keys ? await fingerprint(body.bytes) : undefined
  const bodies = plan.parts.map((p) => (salt === undefined ? p.body : withFingerprint(p.body, salt)))
  if (keys) {
    const hashes = new Map<number, string>()
    for (const [i, p] of plan.parts.entries()) hashes.set(p.shard, await partHash(bodies[i]!))
    if (await door.keyReused(keys, hashes)) return refuse(keyReused())
  }
  // One part after the other, as a batch's (batch() says why); the first refused ends the export.
  const answers: Uint8Array[] = []
  for (const [i, p] of plan.parts.entries()) {
    const res = await door.send(p.shard, request, {
      body: bodies[i]! as Uint8Array<ArrayBuffer>,
      headers: headers(p.shard, 'application/x-protobuf'),
    })
    const bytes = new Uint8Array(await res.arrayBuffer())
    if (res.status !== 200) return otlpResponse(refusalOf(res.status, bytes, encoding, res.headers))
    answers.push(bytes)
  }
  return otlpResponse(mergeAnswers(signal, encoding, answers))
}

function otlpResponse(answer: OtlpAnswer): Response {
  return new Response(answer.body as Uint8Array<ArrayBuffer> | string, {
    status: answer.status,
    headers: answer.headers,
  })
}
