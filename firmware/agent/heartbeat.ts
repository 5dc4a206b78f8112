// Tells the server the device is alive, every intervalMs (the server's answer sets the next interval).
// The first beat goes right after enrolment/authentication plus a random phase, so that a fleet that
// starts together does not beat together; failed beats are retried with backoff within the interval.
import type { AppReport } from './apps/release.js'
import { retryDelay } from './backoff.js'
import { type AgentContext, messageOf, refreshOutboxStats } from './context.js'
import { isAbort, jsonOf, ProtocolError, RevokedError } from './errors.js'
import { pushRecent } from './stats.js'
import { TransportError } from './transport.js'

export interface HeartbeatOptions {
  agentVersion: string
  /** Interval before the server has told one. */
  initialIntervalMs: number
  /** The first beat waits a uniform random phase in [0, spreadMs). */
  spreadMs: number
  memory: () => number | undefined
  /** The app runtime (apps/manager.ts): its report goes in the body, the answer's desired set to it. */
  apps?: HeartbeatApps
}

export interface HeartbeatApps {
  report(): AppReport[]
  /** The server took this report. */
  reported(sent: readonly AppReport[]): void
  /** The answer's `apps`: absent (undefined) keeps what runs. */
  desire(apps: unknown): void
}

interface HeartbeatAnswer {
  intervalMs?: unknown
  timeoutMs?: unknown
  serverTime?: unknown
  status?: unknown
  /** The desired apps: exactly the set to run; absent (an older server) keeps what runs. */
  apps?: unknown
}

export async function runHeartbeat(
  ctx: AgentContext,
  o: HeartbeatOptions,
  signal: AbortSignal,
): Promise<void> {
  const { clock, stats } = ctx
  let intervalMs = o.initialIntervalMs
  let failures = 0
  try {
    await ctx.sleep(Math.floor(ctx.backoff.random() * o.spreadMs), signal)
    for (;;) {
      let sentAt = clock.now()
      let retryAfter: string | undefined
      try {
        const apps = o.apps?.report() ?? []
        const body = JSON.stringify({ ...(await bodyOf(ctx, o, sentAt)), apps })
        // Authentication (when due) is not part of the round trip the clock offset is measured on.
        await ctx.session.ready(signal)
        sentAt = clock.now()
        const res = await ctx.session.call(
          {
            method: 'POST',
            path: '/v1/device/heartbeat',
            headers: { 'content-type': 'application/json' },
            body,
          },
          signal,
        )
        if (res.status === 200) {
          const receivedAt = clock.now()
          const answer = jsonOf<HeartbeatAnswer>(res)
          if (typeof answer.serverTime === 'number') {
            ctx.session.learnServerTime(answer.serverTime, sentAt, receivedAt)
            stats.clockOffsetMs = ctx.session.clockOffsetMs
          }
          if (typeof answer.intervalMs === 'number' && answer.intervalMs > 0) intervalMs = answer.intervalMs
          const rttMs = receivedAt - sentAt
          stats.heartbeats += 1
          pushRecent(stats.heartbeatRttMs, rttMs)
          ctx.setStatus('connected')
          o.apps?.reported(apps)
          if (answer.apps !== undefined) o.apps?.desire(answer.apps)
          const serverStatus = typeof answer.status === 'string' ? answer.status : null
          ctx.emit({ type: 'heartbeat', rttMs, intervalMs, serverStatus })
          failures = 0
          await ctx.sleep(intervalMs, signal)
          continue
        }
        const error = ProtocolError.of(res)
        retryAfter = error.retryAfter
        ctx.fail(error.code, `heartbeat refused (${res.status}): ${error.message}`)
      } catch (e) {
        if (isAbort(e, signal)) return
        if (e instanceof RevokedError) return ctx.revoke()
        if (e instanceof TransportError) ctx.setStatus('offline')
        else if (!(e instanceof ProtocolError)) throw e
        ctx.fail(e instanceof ProtocolError ? e.code : 'network', `heartbeat failed: ${messageOf(e)}`)
        retryAfter = e instanceof ProtocolError ? e.retryAfter : undefined
      }
      const policy = { ...ctx.backoff, capMs: Math.min(ctx.backoff.capMs, intervalMs) }
      const delayMs = retryDelay(failures, retryAfter, clock.now(), policy)
      ctx.emit({
        type: 'retry',
        what: 'heartbeat',
        attempt: failures + 1,
        delayMs,
        reason: stats.lastError?.message ?? '',
      })
      failures += 1
      await ctx.sleep(delayMs, signal)
    }
  } catch (e) {
    if (!isAbort(e, signal)) throw e
  }
}

async function bodyOf(ctx: AgentContext, o: HeartbeatOptions, now: number) {
  const { stats } = ctx
  await refreshOutboxStats(ctx)
  const memory = o.memory()
  return {
    uptimeMs: stats.startedAt === null ? 0 : now - stats.startedAt,
    agentVersion: o.agentVersion,
    freeMemoryBytes: typeof memory === 'number' && Number.isFinite(memory) ? memory : null,
    outboxDepth: stats.outboxDepth,
    // The persisted counter, plus batches the storage never took (counted in memory only).
    outboxDropped: stats.dropped,
  }
}
