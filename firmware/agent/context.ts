// What the agent's loops (sampler, sender, heartbeat) share: the ports, the session, the counters,
// and the few ways to report.
import type { BackoffPolicy } from './backoff.js'
import type { Notifier } from './notifier.js'
import type { AgentStorage, Clock } from './ports.js'
import type { BatchPublisher } from './publisher.js'
import type { Session } from './session.js'
import type { AgentEvent, AgentStats, AgentStatus } from './stats.js'

export interface AgentContext {
  clock: Clock
  storage: AgentStorage
  session: Session
  /** Where batches go instead of POST /v1/ingest (a broker), when the host gave one. */
  publisher: BatchPublisher | null
  backoff: BackoffPolicy
  outboxLimit: number
  stats: AgentStats
  /** Sealed batches dropped because the storage would not take them (memory only: the storage failed). */
  unsaved: { dropped: number }
  /** Notified when a batch enters the outbox. */
  sealed: Notifier
  emit(event: AgentEvent): void
  /** No effect once revoked or stopped. */
  setStatus(status: AgentStatus): void
  /** Records lastError and emits it. */
  fail(code: string, message: string): void
  /** 403 device_revoked: stop everything for good. */
  revoke(): void
  /** Waits `ms`, or rejects when the agent stops. */
  sleep(ms: number, signal: AbortSignal): Promise<void>
}

export const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e))

/** Re-reads the outbox's depth and dropped counter into stats (the storage may drop unreadable batches itself). */
export async function refreshOutboxStats(ctx: AgentContext): Promise<void> {
  const { outbox } = ctx.storage
  try {
    const [depth, dropped] = await Promise.all([outbox.count(), outbox.dropped()])
    ctx.stats.outboxDepth = depth
    ctx.stats.dropped = dropped + ctx.unsaved.dropped
  } catch {
    // Keep the last known figures; the failing operation itself reports the storage error.
  }
}
