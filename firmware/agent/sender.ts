// Sends the outbox, oldest batch first, one batch at a time (so the server sees records in the order
// they were read), each with its own Idempotency-Key. With a publisher (publisher.ts) a batch goes to
// the broker instead: the broker's acknowledgement counts as a 2xx, a PublishError as no answer.
// What an answer means for the batch:
//   2xx                       committed: delete it
//   400, 413, 415, 422        refused for good (the server keeps a dead letter; 422 idempotency_key_reused
//                             is a bug here): delete it, count it as rejected, report it
//   anything else, no answer  try again later, same key, after a full-jitter backoff (Retry-After honoured)
// A retry that the server had already committed (the answer was lost) is answered from the server's
// idempotency record and stores nothing twice.
import { retryDelay } from './backoff.js'
import { type AgentContext, messageOf, refreshOutboxStats } from './context.js'
import { errorOf, isAbort, jsonOf, ProtocolError, RevokedError } from './errors.js'
import type { SealedBatch } from './ports.js'
import { PublishError } from './publisher.js'
import { pushRecent, type ServerAnomaly } from './stats.js'
import { TransportError, type TransportResponse } from './transport.js'

const REFUSED = new Set([400, 413, 415, 422])

type Outcome =
  | { kind: 'acked'; accepted: number; refused: number; anomalyCount: number; anomalies: ServerAnomaly[] }
  | { kind: 'rejected'; status: number; code: string; message: string }
  | { kind: 'retry'; code: string; reason: string; retryAfter: string | undefined }

export function outcomeOf(res: TransportResponse): Outcome {
  if (res.status >= 200 && res.status < 300) {
    let accepted = Number.NaN
    let refused = 0
    let anomalyCount = 0
    let anomalies: ServerAnomaly[] = []
    try {
      const answer = jsonOf<{
        accepted?: unknown
        rejectedCount?: unknown
        anomalyCount?: unknown
        anomalies?: unknown
      }>(res)
      if (typeof answer.accepted === 'number') accepted = answer.accepted
      if (typeof answer.rejectedCount === 'number') refused = answer.rejectedCount
      if (Array.isArray(answer.anomalies)) anomalies = answer.anomalies.filter(isAnomaly)
      anomalyCount = typeof answer.anomalyCount === 'number' ? answer.anomalyCount : anomalies.length
    } catch {}
    return { kind: 'acked', accepted, refused, anomalyCount, anomalies }
  }
  const error = errorOf(res)
  if (REFUSED.has(res.status)) {
    return { kind: 'rejected', status: res.status, code: error.code, message: error.message }
  }
  const reason = `${res.status} ${error.code}: ${error.message}`
  return { kind: 'retry', code: error.code, reason, retryAfter: res.headers['retry-after'] }
}

export async function runSender(ctx: AgentContext, signal: AbortSignal): Promise<void> {
  const { clock, stats, storage } = ctx
  /** The batch at the head of the outbox, while it is being sent and retried. */
  let current = null as { id: string; firstSentAt: number; attempts: number } | null
  let failures = 0

  while (!signal.aborted) {
    let batch: SealedBatch | undefined
    try {
      ;[batch] = await storage.outbox.oldest(1)
    } catch (e) {
      ctx.fail('storage_error', `the outbox could not be read: ${messageOf(e)}`)
      await ctx.sleep(backoffFor(ctx, failures++, undefined), signal)
      continue
    }
    if (!batch) {
      await ctx.sealed.wait(signal)
      continue
    }
    if (current?.id !== batch.id) {
      current = { id: batch.id, firstSentAt: clock.now(), attempts: 0 }
      stats.batchesSent += 1
      stats.recordsSent += batch.records
    } else {
      stats.retries += 1
    }
    current.attempts += 1

    let outcome: Outcome
    try {
      outcome = await deliver(ctx, batch, signal)
    } catch (e) {
      if (isAbort(e, signal)) return
      if (e instanceof RevokedError) return ctx.revoke()
      if (e instanceof TransportError) {
        ctx.setStatus('offline')
        const code = e instanceof PublishError ? e.code : 'network'
        outcome = { kind: 'retry', code, reason: e.message, retryAfter: undefined }
      } else if (e instanceof ProtocolError) {
        const reason = `authentication failed: ${e.status} ${e.code}: ${e.message}`
        outcome = { kind: 'retry', code: e.code, reason, retryAfter: e.retryAfter }
      } else {
        throw e
      }
    }

    if (outcome.kind === 'retry') {
      ctx.fail(outcome.code, outcome.reason)
      const delayMs = backoffFor(ctx, failures, outcome.retryAfter)
      ctx.emit({ type: 'retry', what: 'ingest', attempt: failures + 1, delayMs, reason: outcome.reason })
      failures += 1
      await ctx.sleep(delayMs, signal)
      continue
    }

    failures = 0
    await removeBatch(ctx, batch.id)
    if (outcome.kind === 'acked') {
      ctx.setStatus('connected')
      const now = clock.now()
      const accepted = Number.isNaN(outcome.accepted) ? batch.records : outcome.accepted
      stats.batchesAcked += 1
      stats.recordsAcked += accepted
      stats.recordsRefused += outcome.refused
      const latencyMs = now - current.firstSentAt
      pushRecent(stats.ackLatencyMs, latencyMs)
      pushRecent(stats.sealToAckMs, now - batch.createdAt)
      ctx.emit({
        type: 'acked',
        id: batch.id,
        records: batch.records,
        accepted,
        attempts: current.attempts,
        latencyMs,
      })
      if (outcome.anomalyCount > 0) {
        ctx.emit({
          type: 'anomalies',
          id: batch.id,
          count: outcome.anomalyCount,
          anomalies: outcome.anomalies,
        })
      }
    } else {
      ctx.setStatus('connected')
      stats.rejected += 1
      stats.rejectedRecords += batch.records
      ctx.fail(outcome.code, `batch ${batch.id} refused (${outcome.status}): ${outcome.message}`)
      ctx.emit({
        type: 'rejected',
        id: batch.id,
        records: batch.records,
        status: outcome.status,
        code: outcome.code,
      })
    }
    current = null
  }
}

/** One batch to POST /v1/ingest, or to the broker when the host gave a publisher. */
async function deliver(ctx: AgentContext, batch: SealedBatch, signal: AbortSignal): Promise<Outcome> {
  if (ctx.publisher) {
    const deviceId = ctx.session.deviceId
    // The sender starts after enrolment, so this is a bug, reported and retried by the supervisor.
    if (deviceId === null) throw new Error('a batch cannot be published before enrolment')
    await ctx.publisher.publish(deviceId, batch, signal)
    // The broker took it all; what the server refuses of it goes to its dead letters, unseen here.
    return { kind: 'acked', accepted: batch.records, refused: 0, anomalyCount: 0, anomalies: [] }
  }
  const res = await ctx.session.call(
    {
      method: 'POST',
      path: '/v1/ingest',
      headers: { 'content-type': 'application/x-ndjson', 'idempotency-key': batch.id },
      body: batch.body,
    },
    signal,
  )
  if (res.status === 401) ctx.session.dropToken()
  return outcomeOf(res)
}

/** The fields of a server anomaly the agent passes on (see the ingest answer's schema). */
export function isAnomaly(a: unknown): a is ServerAnomaly {
  const x = a as ServerAnomaly | null
  return typeof x === 'object' && x !== null && typeof x.kind === 'string' && typeof x.ts === 'string'
}

const backoffFor = (ctx: AgentContext, attempt: number, retryAfter: string | undefined): number =>
  retryDelay(attempt, retryAfter, ctx.clock.now(), ctx.backoff)

async function removeBatch(ctx: AgentContext, id: string): Promise<void> {
  try {
    await ctx.storage.outbox.delete([id])
    await refreshOutboxStats(ctx)
  } catch (e) {
    // It stays and is sent again: the server answers the retry from its idempotency record.
    ctx.fail('storage_error', `an acked batch could not be removed: ${messageOf(e)}`)
  }
}
