// A request's body through the ingest path, within the bound on bodies in flight: what POST
// /v1/ingest and the Influx write routes share. A body is counted by its size as sent (the whole
// limit when it is not declared), then by its size once read (a gzip body grows when decompressed);
// a relay's parts are already counted in the relay's own body.
import type { Context } from 'hono'
import type { AppContext } from '../app-context.js'
import { type IngestAnswer, type IngestInput, overloaded } from '../domain/ingest.js'
import { decodeUtf8, readBody } from './body.js'
import type { AppEnv } from './env.js'

export interface IngestRequest {
  format: IngestInput['format']
  contentType: string
  /** The device whose own credential sent this. */
  device: string | undefined
  /** A part of a relay, already counted. */
  relayed?: boolean
}

export async function ingestRequest(
  c: Context<AppEnv>,
  ctx: AppContext,
  how: IngestRequest,
): Promise<IngestAnswer> {
  const declared = Number(c.req.header('content-length') ?? Number.NaN)
  let reserved = how.relayed
    ? 0
    : Number.isFinite(declared)
      ? Math.min(declared, ctx.bodyLimitBytes)
      : ctx.bodyLimitBytes
  if (!ctx.bodies.take(reserved)) {
    ctx.metrics.overloaded.inc({ bound: 'body_bytes' })
    throw overloaded(`${ctx.bodies.current} bytes of request bodies are in flight`)
  }
  try {
    const body = await readBody(c.req.raw, ctx.bodyLimitBytes)
    if (!how.relayed) {
      ctx.bodies.resize(reserved, body.bytes.byteLength)
      reserved = body.bytes.byteLength
    }
    const answer = await ctx.ingestor.ingest({
      // A binary parser reads the bytes itself (OTLP protobuf): no text to make.
      text:
        body.unreadable || (typeof how.format === 'object' && !how.format.textual)
          ? undefined
          : decodeUtf8(body.bytes),
      bytes: body.bytes,
      unreadable: body.unreadable,
      format: how.format,
      contentType: how.contentType.slice(0, 100),
      idempotencyKey: c.req.header('idempotency-key'),
      device: how.device,
    })
    c.set('logFields', { accepted: answer.accepted, rejected: answer.rejected, replayed: answer.replayed })
    return answer
  } finally {
    ctx.bodies.give(reserved)
  }
}
