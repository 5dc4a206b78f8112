// The ingest path: body → records and rejections → analysis → atomic commit → the answer.
// Requests that arrive while a commit is in flight are analysed in arrival order and committed
// together in one transaction (group commit): one fsync and one write of each series' state for
// the whole group, and every answer waits for that commit. HTTP-free: every runtime shares it.
import { ApiError } from '../http/errors.js'
import type { Metrics } from '../observability/metrics.js'
import { type IngestCommit, type Store, seriesKey } from '../store/port.js'
import { Analyser } from './analyse.js'
import { BodyError, type BodyFormat, parseBody, type Rejection } from './ingest-body.js'
import { presentAnomaly } from './present.js'
import type { DeadLetter, DeviceRecord, SeriesState } from './types.js'

/** Rejections listed in one answer; all of them go to the dead letters. */
export const REJECTIONS_LISTED = 100
/** A group closes at this many records (bounds latency and memory). */
const GROUP_RECORDS = 20_000
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,200}$/

export interface IngestInput {
  text: string | undefined
  /** The raw bytes, kept in the dead letters (base64) when they are not UTF-8. */
  bytes: Uint8Array
  format: BodyFormat
  contentType: string
  idempotencyKey: string | undefined
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

export interface IngestResult {
  accepted: number
  rejectedCount: number
  rejected: Omit<Rejection, 'raw'>[]
  anomalies: ReturnType<typeof presentAnomaly>[]
}

type Letter = Omit<DeadLetter, 'receivedAt'>

/** A request after parsing: its records, or the refusal it gets; what it sends to the dead letters. */
interface Prepared {
  key: string | undefined
  records: DeviceRecord[]
  rejected: Rejection[]
  letters: Letter[]
  refusal?: { code: string; message: string; details: unknown }
}

interface Pending extends Prepared {
  resolve: (answer: IngestAnswer) => void
  reject: (error: unknown) => void
}

export class Ingestor {
  private queue: Pending[] = []
  private draining = false

  constructor(
    private readonly store: Store,
    private readonly analyser: Analyser,
    private readonly metrics: Metrics,
    private readonly now: () => number,
  ) {}

  async ingest(input: IngestInput): Promise<IngestAnswer> {
    const key = input.idempotencyKey
    if (key !== undefined && !IDEMPOTENCY_KEY.test(key)) {
      throw new ApiError(
        400,
        'invalid_idempotency_key',
        'Idempotency-Key must be 1-200 visible ASCII characters',
      )
    }
    const prepared = prepare(input, this.now())
    return new Promise<IngestAnswer>((resolve, reject) => {
      this.queue.push({ ...prepared, resolve, reject })
      if (!this.draining) void this.drain()
    })
  }

  /** Runs queued requests group by group until the queue is empty. */
  private async drain(): Promise<void> {
    this.draining = true
    while (this.queue.length > 0) {
      let records = 0
      let take = 0
      while (
        take < this.queue.length &&
        (take === 0 || records + this.queue[take]!.records.length <= GROUP_RECORDS)
      ) {
        records += this.queue[take]!.records.length
        take++
      }
      const group = this.queue.splice(0, take)
      try {
        const answers = await this.runGroup(group)
        for (let i = 0; i < group.length; i++) group[i]!.resolve(answers[i]!)
      } catch (e) {
        for (const p of group) p.reject(e)
      }
    }
    this.draining = false
  }

  private async runGroup(group: Pending[]): Promise<IngestAnswer[]> {
    const receivedAt = this.now()
    const keys: NonNullable<IngestCommit['idempotency']> = []
    const commit: IngestCommit = {
      receivedAt,
      records: [],
      anomalies: [],
      windows: [],
      states: [],
      deadLetters: [],
      idempotency: keys,
    }
    const states = new Map<string, SeriesState>()
    const answered = new Map<string, { status: number; response: string }>()
    const answers: IngestAnswer[] = []
    for (const p of group) {
      if (p.key !== undefined) {
        const earlier = answered.get(p.key) ?? (await this.store.findIdempotent(p.key))
        if (earlier) {
          answers.push({
            status: earlier.status as 200 | 400,
            body: earlier.response,
            replayed: true,
            accepted: 0,
            rejected: 0,
          })
          continue
        }
      }
      const answer = p.refusal ? refuse(p) : await this.analyse(p, states, commit)
      commit.deadLetters.push(...p.letters.map((l) => ({ ...l, receivedAt })))
      if (p.key !== undefined) {
        const stored = { status: answer.status, response: answer.body }
        keys.push({ key: p.key, ...stored })
        answered.set(p.key, stored)
      }
      answers.push(answer)
    }
    commit.states = [...states.values()]
    if (commit.records.length + commit.deadLetters.length + keys.length > 0)
      await this.store.commitIngest(commit)
    this.count(answers, commit)
    return answers
  }

  /** Analyses one request against the group's newest series states and adds it to the commit. */
  private async analyse(
    p: Prepared,
    states: Map<string, SeriesState>,
    commit: IngestCommit,
  ): Promise<IngestAnswer> {
    const missing = Analyser.seriesOf(p.records).filter((s) => !states.has(seriesKey(s.deviceId, s.metric)))
    if (missing.length > 0)
      for (const [key, state] of await this.store.loadStates(missing)) states.set(key, state)
    const analysis = this.analyser.analyse(p.records, states)
    for (const s of analysis.states) states.set(seriesKey(s.deviceId, s.metric), s)
    p.records.forEach((record, i) => {
      const verdict = analysis.verdicts[i]!
      commit.records.push({ record, score: verdict.score, kinds: verdict.kinds })
    })
    commit.anomalies.push(...analysis.anomalies)
    commit.windows.push(...analysis.windows)
    const result: IngestResult = {
      accepted: p.records.length,
      rejectedCount: p.rejected.length,
      rejected: listed(p.rejected),
      anomalies: analysis.anomalies.map(presentAnomaly),
    }
    return {
      status: 200,
      body: JSON.stringify(result),
      replayed: false,
      accepted: p.records.length,
      rejected: p.rejected.length,
    }
  }

  private count(answers: IngestAnswer[], commit: IngestCommit): void {
    const rejected = answers.reduce((n, a) => n + a.rejected, 0)
    this.metrics.recordsIngested.inc({}, commit.records.length)
    if (rejected) this.metrics.recordsRejected.inc({}, rejected)
    for (const a of commit.anomalies) this.metrics.anomalies.inc({ kind: a.kind })
  }
}

/** Parses a request's body into records, rejections and dead letters, or a refusal (400). */
function prepare(input: IngestInput, now: number): Prepared {
  const key = input.idempotencyKey
  const letter = (position: string, reason: string, raw: string): Letter => ({
    position,
    reason,
    contentType: input.contentType,
    raw,
  })
  const refusal = (
    code: string,
    message: string,
    letters: Letter[],
    details: unknown = null,
    rejected: Rejection[] = [],
  ): Prepared => ({
    key,
    records: [],
    rejected,
    letters,
    refusal: { code, message, details },
  })
  if (input.text === undefined) {
    const reason = 'body is not valid UTF-8'
    return refusal(
      'invalid_encoding',
      reason,
      [letter('body', reason, 'base64:' + toBase64(input.bytes))],
      null,
      [{ reason, raw: '' }],
    )
  }
  if (input.text.trim() === '') return refusal('empty_body', 'the body holds no records', [])
  let parsed: ReturnType<typeof parseBody>
  try {
    parsed = parseBody(input.text, input.format, now)
  } catch (e) {
    if (!(e instanceof BodyError)) throw e
    return refusal('invalid_body', e.message, [letter('body', e.message, input.text)], null, [
      { reason: e.message, raw: '' },
    ])
  }
  const { records, rejected } = parsed
  const letters = rejected.map((r) =>
    letter(r.line !== undefined ? `line ${r.line}` : `index ${r.index}`, r.reason, r.raw),
  )
  if (records.length === 0) {
    const details = { rejectedCount: rejected.length, rejected: listed(rejected) }
    return refusal('no_valid_records', 'no record in the body could be accepted', letters, details, rejected)
  }
  return { key, records, rejected, letters }
}

function refuse(p: Prepared): IngestAnswer {
  const body = JSON.stringify({ error: p.refusal })
  return { status: 400, body, replayed: false, accepted: 0, rejected: p.rejected.length }
}

function listed(rejected: Rejection[]): Omit<Rejection, 'raw'>[] {
  return rejected.slice(0, REJECTIONS_LISTED).map(({ raw: _, ...where }) => where)
}

function toBase64(bytes: Uint8Array): string {
  let s = ''
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
  return btoa(s)
}
