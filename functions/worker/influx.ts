// Influx line protocol writes (POST /v1/write, /api/v2/write) on shards. Points name their device in
// a tag, so a Telegraf batch mixes devices as a gateway's does: an ingest token's write is cut by
// shard like an NDJSON batch (lines kept where they were), each line read by the route's own
// parser, and answered as InfluxDB answers: 204 when every line was stored, else the one part that
// holds the rejected lines answers (a partial write), its `accepted` made the batch's.
import type { ApiError } from '../http/errors.js'
import { type InfluxApi, influxError } from '../protocols/influx/answers.js'
import { offeredTokens } from '../protocols/influx/credentials.js'
import { lineProtocolParser, PRECISIONS, type Precision } from '../protocols/influx/write-body.js'
import type { BatchRoute } from './batch-route.js'
import { type LineKind, planLines } from './split.js'

export interface InfluxWrite {
  api: InfluxApi
  /** The tokens the write offers, where Influx clients put them. */
  tokens: string[]
  /** Undefined when the route refuses the precision (a shard then answers it). */
  precision: Precision | undefined
  /** Whether the write names its database (v1) or bucket (v2), which the route requires. */
  named: boolean
}

export function influxWrite(request: Request, api: InfluxApi): InfluxWrite {
  const query = new URL(request.url).searchParams
  return {
    api,
    tokens: offeredTokens(request, query),
    precision: PRECISIONS[api][query.get('precision') ?? ''],
    named: Boolean(query.get(api === 'v1' ? 'db' : 'bucket')),
  }
}

const skip = async () => {}

export function influxRoute(
  api: InfluxApi,
  precision: Precision,
  deviceTags: readonly string[],
  shards: number,
): BatchRoute {
  const parse = lineProtocolParser({ precision, deviceTags })
  return {
    async plan(text, now) {
      const lines = text.split('\n')
      const kinds: LineKind[] = []
      for (const line of lines) {
        const one = await parse(line, now, skip)
        kinds.push(one.records[0] ?? (one.rejectedCount > 0 ? 'rejected' : undefined))
      }
      return planLines(lines, kinds, shards)
    },
    accepted: (a) => a.status === 204 || (a.status === 400 && partialWrite(a.body) !== undefined),
    merge(answers) {
      const partial = answers.find((a) => a.status === 400)
      if (!partial) return { status: 204, body: null }
      const body = partialWrite(partial.body)!
      body.accepted = answers.reduce((n, a) => n + a.part.records.length, 0)
      return { status: 400, body: JSON.stringify(body) }
    },
    error(e: ApiError) {
      const answer = influxError(api, e.status as 400, e.message, e.headers)
      return new Response(answer.body, {
        status: answer.status,
        headers: { 'Content-Type': 'application/json', ...answer.headers },
      })
    },
  }
}

/** A partial write's answer (some lines rejected, the rest stored), or undefined for any other 400. */
function partialWrite(body: string): { accepted: number } | undefined {
  try {
    const parsed = JSON.parse(body) as { accepted?: unknown; rejectedCount?: unknown }
    return typeof parsed.accepted === 'number' && typeof parsed.rejectedCount === 'number'
      ? (parsed as { accepted: number })
      : undefined
  } catch {
    return undefined
  }
}
