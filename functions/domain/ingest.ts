// The ingest path: body → records and rejections → analysis → atomic commit → the answer.
// Requests that arrive while a commit is in flight are analysed in arrival order and committed
// together in one transaction (group commit): one fsync and one write of each series' state for
// the whole group, and every answer waits for that commit. The next group is analysed while the
// previous one commits, on top of the states it will store; groups commit in order. When a group's
// commit fails, its requests (and any group analysed on top of it) run again one by one, so a
// failure is the failing request's own; a conflict with another writer (another process or instance
// on the same database) reloads the series and analyses again.
// HTTP-free apart from ApiError: every runtime shares it.
import { checkSnapshot, isOlderSnapshot, KernelStateError } from '../../kernels/host/kernel.js'
import { ApiError } from '../http/errors.js'
import { errorText } from '../observability/error-text.js'
import type { Metrics } from '../observability/metrics.js'
import {
  CommitConflictError,
  emptyCommit,
  type IdempotentAnswer,
  type IngestCommit,
  type Store,
  seriesKey,
} from '../store/port.js'
import type { Analyser } from './analyse.js'
import { type Baseline, learnBaseline } from './baseline.js'
import { DEVICE_STATE_METRIC, decodeDeviceState } from './device-state.js'
import { sha256Hex } from './hash.js'
import { type IngestInput, type Prepared, prepare } from './ingest-prepare.js'
import { pause } from './pause.js'
import { presentAnomaly } from './present.js'
import type { SeriesCache } from './series-cache.js'
import type { SeriesState } from './types.js'

export type { IngestInput } from './ingest-prepare.js'

/** Anomalies listed in one answer (and in the stored idempotent answer); `anomalyCount` counts all. */
export const ANOMALIES_LISTED = 1000
/** A group closes at this many records, or requests (bounds latency, memory and the commit's size). */
const GROUP_RECORDS = 20_000
const GROUP_REQUESTS = 1000
/** Attempts of one request whose commit conflicts with another writer before it gets a 503. */
const CONFLICT_ATTEMPTS = 8
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,200}$/

export interface IngestOptions {
  /** Records parsed and waiting for their commit, across requests; beyond it, 503 overloaded. */
  maxQueuedRecords: number
  /** How long an Idempotency-Key's answer is kept (ms). */
  idempotencyTtlMs: number
  /** Structured warnings (a series restarted, a commit retried). */
  warn: (msg: string, fields: Record<string, unknown>) => void
  /** Committed series states kept in memory (long-lived processes); none by default. */
  cache?: SeriesCache | undefined
}

export interface IngestAnswer {
  status: 200 | 400
  /** The JSON response body. */
  body: string
  /** True when this is the stored answer to an earlier request with the same Idempotency-Key. */
  replayed: boolean
  accepted: number
  rejected: number
}

interface Pending extends Prepared {
  key: string | undefined
  bodyHash: string | undefined
  resolve: (answer: IngestAnswer) => void
  reject: (error: unknown) => void
}

/** One request's outcome within an attempt: its answer, or its own error. */
type Outcome = IngestAnswer | ApiError

/** A group analysed: its commit, and each request's outcome once that commit is done. */
interface Analysed {
  commit: IngestCommit
  outcomes: Outcome[]
}

export class Ingestor {
  private queue: Pending[] = []
  private queuedRecords = 0
  private draining = false
  /** Counts failed commits: a group analysed in an earlier epoch stands on a commit that failed. */
  private epoch = 0
  /** What groups analysed but not yet committed will store: the next group analyses on top of it. */
  private readonly inFlight = {
    states: new Map<string, SeriesState>(),
    answers: new Map<string, IdempotentAnswer>(),
  }

  constructor(
    private readonly store: Store,
    private readonly analyser: Analyser,
    private readonly metrics: Metrics,
    private readonly now: () => number,
    private readonly options: IngestOptions,
  ) {}

  /**
   * Learns a device's normal state again from its stored records in [from, to) (baseline.ts). The
   * cached device state is forgotten: the next ingest of the device reads the new one.
   */
  async learnBaseline(deviceId: string, from: number, to: number): Promise<Baseline> {
    const baseline = await learnBaseline(this.store, this.analyser, deviceId, from, to, this.now())
    this.options.cache?.forget([{ deviceId, metric: DEVICE_STATE_METRIC }])
    return baseline
  }

  async ingest(input: IngestInput): Promise<IngestAnswer> {
    const given = input.idempotencyKey
    if (given !== undefined && !IDEMPOTENCY_KEY.test(given)) {
      throw new ApiError(
        400,
        'invalid_idempotency_key',
        'Idempotency-Key must be 1-200 visible ASCII characters',
      )
    }
    // A device's keys are its own: another device's same key neither collides nor replays its answer.
    const key = given !== undefined && input.device !== undefined ? `device ${input.device} ${given}` : given
    const bodyHash = key === undefined ? undefined : await sha256Hex(input.bytes)
    const prepared = await prepare(input, this.now(), pause)
    const device = input.device
    const foreign = device === undefined ? undefined : prepared.records.find((r) => r.deviceId !== device)
    if (foreign) {
      throw new ApiError(
        403,
        'forbidden_device',
        `a device credential writes only its own records (${device}); this body holds records of ${foreign.deviceId.slice(0, 128)}`,
      )
    }
    const n = prepared.records.length
    if (this.queuedRecords > 0 && this.queuedRecords + n > this.options.maxQueuedRecords) {
      this.metrics.overloaded.inc({ bound: 'queued_records' })
      throw overloaded(`${this.queuedRecords} records are already waiting to be committed`)
    }
    this.queuedRecords += n
    try {
      return await new Promise<IngestAnswer>((resolve, reject) => {
        this.queue.push({ ...prepared, key, bodyHash, resolve, reject })
        if (!this.draining) void this.drain()
      })
    } finally {
      this.queuedRecords -= n
    }
  }

  /**
   * Runs queued requests group by group until the queue is empty, two groups in the pipe: the next
   * group is analysed against the states the previous one will store while that one commits (the
   * commit runs off the event loop where the store can: Node's writer thread). Groups commit in
   * order. When a commit fails, what was analysed on top of it is stale: those groups run again one
   * request at a time, from what the store holds.
   */
  private async drain(): Promise<void> {
    this.draining = true
    // One turn of the event loop first: requests that arrived together (a relay's parts, a burst of
    // connections) join this group instead of each paying its own commit.
    await pause()
    let previous: Promise<void> = Promise.resolve()
    let beforePrevious: Promise<void> = previous
    for (;;) {
      if (this.queue.length === 0) {
        // Requests that arrive while the last group commits are taken once it is done.
        await previous
        if (this.queue.length === 0) break
      }
      await beforePrevious // at most two groups between analysis and answer
      let records = 0
      let take = 0
      while (
        take < this.queue.length &&
        take < GROUP_REQUESTS &&
        (take === 0 || records + this.queue[take]!.records.length <= GROUP_RECORDS)
      ) {
        records += this.queue[take]!.records.length
        take++
      }
      const group = this.queue.splice(0, take)
      const epoch = this.epoch
      let analysed: Analysed | undefined
      try {
        analysed = await this.analyseGroup(group)
      } catch (e) {
        this.options.warn('group analysis failed; its requests run one by one', { error: errorText(e) })
      }
      beforePrevious = previous
      previous = this.finishGroup(group, analysed, epoch, previous)
    }
    this.draining = false
  }

  /** Once the group before it is done: commits the analysed group and answers, or runs it again request by request. */
  private async finishGroup(
    group: Pending[],
    analysed: Analysed | undefined,
    epoch: number,
    after: Promise<void>,
  ): Promise<void> {
    await after
    if (analysed && epoch === this.epoch) {
      try {
        await this.commitGroup(analysed)
        for (const [i, p] of group.entries()) settle(p, analysed.outcomes[i]!)
        return
      } catch (e) {
        if (e instanceof CommitConflictError) this.metrics.commitConflicts.inc()
        if (!(e instanceof CommitConflictError) || group.length > 1)
          this.options.warn('group commit failed; its requests run one by one', {
            requests: group.length,
            error: errorText(e),
          })
      }
    }
    for (const p of group) await this.runAlone(p)
  }

  /** One request on its own: retried while another writer keeps changing what it read. */
  private async runAlone(p: Pending): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        settle(p, (await this.attempt([p]))[0]!)
        return
      } catch (e) {
        if (!(e instanceof CommitConflictError)) {
          this.options.warn('commit failed', { error: errorText(e, true) })
          p.reject(
            new ApiError(500, 'commit_failed', 'the records could not be stored; nothing was kept: retry'),
          )
          return
        }
        this.metrics.commitConflicts.inc()
        if (attempt >= CONFLICT_ATTEMPTS) {
          p.reject(
            new ApiError(
              503,
              'conflict',
              `other writers changed the same series ${attempt} times while this request was analysed: retry`,
              null,
              { 'Retry-After': '1' },
            ),
          )
          return
        }
        await new Promise((r) => setTimeout(r, Math.random() * 5 * attempt))
      }
    }
  }

  /** Requests analysed and committed now (throws when the commit fails). */
  private async attempt(group: Pending[]): Promise<Outcome[]> {
    const analysed = await this.analyseGroup(group)
    await this.commitGroup(analysed)
    return analysed.outcomes
  }

  /**
   * Analyses the requests in order against the newest series states (those of groups still
   * committing first) and gathers them into one commit. A request that fails analysis gets its own
   * error and is left out of the commit.
   */
  private async analyseGroup(group: Pending[]): Promise<Analysed> {
    const receivedAt = this.now()
    const notBefore = receivedAt - this.options.idempotencyTtlMs
    const commit = emptyCommit(receivedAt, notBefore)
    const states = new Map<string, SeriesState>()
    const touched = new Set<string>()
    const answered = new Map<string, IdempotentAnswer>()
    const outcomes: Outcome[] = []
    for (const p of group) {
      if (p.key !== undefined) {
        const earlier =
          answered.get(p.key) ??
          this.inFlight.answers.get(p.key) ??
          (await this.store.findIdempotent(p.key, notBefore))
        if (earlier) {
          outcomes.push(replay(earlier, p.bodyHash))
          continue
        }
      }
      let answer: IngestAnswer
      try {
        answer = p.refusal ? refuse(p) : await this.analyse(p, states, touched, commit)
      } catch (e) {
        this.options.warn('analysis failed', { error: errorText(e, true) })
        outcomes.push(
          new ApiError(500, 'analysis_failed', 'the records could not be analysed; nothing was kept'),
        )
        continue
      }
      for (const l of p.letters) commit.deadLetters.push({ ...l, receivedAt })
      if (p.key !== undefined) {
        const stored = { key: p.key, status: answer.status, response: answer.body, bodyHash: p.bodyHash! }
        commit.idempotency.push(stored)
        answered.set(p.key, stored)
      }
      outcomes.push(answer)
    }
    for (const key of touched) commit.states.push(states.get(key)!)
    // The next group reads these states (and keys) until this commit is done.
    for (const s of commit.states) this.inFlight.states.set(seriesKey(s.deviceId, s.metric), s)
    for (const a of commit.idempotency) this.inFlight.answers.set(a.key, a)
    return { commit, outcomes }
  }

  /** Commits an analysed group; throws when the commit fails (CommitConflictError when another writer got there first). */
  private async commitGroup({ commit, outcomes }: Analysed): Promise<void> {
    if (commit.records.length + commit.deadLetters.length + commit.idempotency.length > 0) {
      try {
        await this.store.commitIngest(commit)
      } catch (e) {
        // Another writer may have moved these series on: the retry reads them from the store.
        if (e instanceof CommitConflictError) this.options.cache?.forget(commit.states)
        // Whatever was analysed on top of this commit is stale.
        this.epoch++
        this.inFlight.states.clear()
        this.inFlight.answers.clear()
        throw e
      }
      this.options.cache?.committed(commit.states)
    }
    // Stored: the states and keys are read from the cache and the store from now on (unless a later
    // group in the pipe has newer ones).
    for (const s of commit.states) {
      const key = seriesKey(s.deviceId, s.metric)
      if (this.inFlight.states.get(key) === s) this.inFlight.states.delete(key)
    }
    for (const a of commit.idempotency) {
      if (this.inFlight.answers.get(a.key) === a) this.inFlight.answers.delete(a.key)
    }
    this.count(outcomes, commit)
  }

  /** Analyses one request against the attempt's newest series states and adds it to the commit. */
  private async analyse(
    p: Prepared,
    states: Map<string, SeriesState>,
    touched: Set<string>,
    commit: IngestCommit,
  ): Promise<IngestAnswer> {
    const missing: { deviceId: string; metric: string }[] = []
    for (const s of this.analyser.seriesOf(p.records)) {
      const key = seriesKey(s.deviceId, s.metric)
      if (states.has(key)) continue
      const cached = this.inFlight.states.get(key) ?? this.options.cache?.get(s.deviceId, s.metric)
      if (cached) states.set(key, cached)
      else missing.push(s)
    }
    if (missing.length > 0)
      for (const [key, state] of await this.store.loadStates(missing)) states.set(key, this.readable(state))
    const analysis = this.analyser.analyse(p.records, states)
    // Nothing below throws: the request joins the commit whole or not at all.
    for (const s of analysis.states) {
      const key = seriesKey(s.deviceId, s.metric)
      states.set(key, s)
      touched.add(key)
    }
    p.records.forEach((record, i) => {
      const verdict = analysis.verdicts[i]!
      commit.records.push({ record, score: verdict.score, kinds: verdict.kinds })
    })
    for (const a of analysis.anomalies) commit.anomalies.push(a)
    for (const w of analysis.windows) commit.windows.push(w)
    const body = JSON.stringify({
      accepted: p.records.length,
      rejectedCount: p.rejectedCount,
      rejected: p.rejected,
      anomalyCount: analysis.anomalies.length,
      anomalies: analysis.anomalies.slice(0, ANOMALIES_LISTED).map(presentAnomaly),
    })
    return { status: 200, body, replayed: false, accepted: p.records.length, rejected: p.rejectedCount }
  }

  /**
   * A stored snapshot the kernel cannot read would fail every batch of its series for good: the
   * series restarts instead (empty snapshot, same version), with a warning and a counter.
   */
  private readable(s: SeriesState): SeriesState {
    const device = s.metric === DEVICE_STATE_METRIC
    if (!device && isOlderSnapshot(s.state)) return s
    try {
      if (device) decodeDeviceState(s.state)
      else checkSnapshot(s.state)
      return s
    } catch (e) {
      if (!(e instanceof KernelStateError)) throw e
      this.metrics.seriesRestarted.inc()
      this.options.warn('unreadable series state: the series restarts', {
        deviceId: s.deviceId,
        metric: s.metric,
        reason: e.message,
      })
      return { ...s, state: new Uint8Array(0), lastTs: 0, sampleCount: 0 }
    }
  }

  private count(outcomes: Outcome[], commit: IngestCommit): void {
    let rejected = 0
    for (const o of outcomes) if (!(o instanceof ApiError)) rejected += o.rejected
    this.metrics.recordsIngested.inc({}, commit.records.length)
    if (rejected) this.metrics.recordsRejected.inc({}, rejected)
    for (const a of commit.anomalies) this.metrics.anomalies.inc({ kind: a.kind })
  }
}

function settle(p: Pending, outcome: Outcome): void {
  if (outcome instanceof ApiError) p.reject(outcome)
  else p.resolve(outcome)
}

/** The stored answer for a key, or 422 when the key came with another body. */
function replay(earlier: IdempotentAnswer, bodyHash: string | undefined): Outcome {
  if (earlier.bodyHash !== null && earlier.bodyHash !== bodyHash) {
    return new ApiError(
      422,
      'idempotency_key_reused',
      'this Idempotency-Key was used with a different body; use a new key for new records',
    )
  }
  return {
    status: earlier.status as 200 | 400,
    body: earlier.response,
    replayed: true,
    accepted: 0,
    rejected: 0,
  }
}

function refuse(p: Prepared): IngestAnswer {
  const body = JSON.stringify({ error: p.refusal })
  return { status: 400, body, replayed: false, accepted: 0, rejected: p.rejectedCount }
}

export function overloaded(why: string): ApiError {
  return new ApiError(503, 'overloaded', `the server is at its ingest bound (${why}): retry shortly`, null, {
    'Retry-After': '1',
  })
}
