// The ingest path: body → records and rejections → analysis → one atomic commit → the answer.
// HTTP-free, so the same path serves every runtime and the CLI's tests.
import { ApiError } from '../http/errors.js'
import type { Metrics } from '../observability/metrics.js'
import type { Store } from '../store/port.js'
import { Analyser } from './analyse.js'
import { BodyError, type BodyFormat, parseBody, type Rejection } from './ingest-body.js'
import { Mutex } from './mutex.js'
import { presentAnomaly } from './present.js'
import type { DeadLetter } from './types.js'

/** Rejections listed in one answer; all of them go to the dead letters. */
export const REJECTIONS_LISTED = 100
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

export class Ingestor {
  // One batch at a time per process: a series' state is read, advanced and written without interleaving.
  private readonly lock = new Mutex()

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
    return this.lock.run(async () => {
      if (key !== undefined) {
        const earlier = await this.store.findIdempotent(key)
        if (earlier) {
          return {
            status: earlier.status as 200 | 400,
            body: earlier.response,
            replayed: true,
            accepted: 0,
            rejected: 0,
          }
        }
      }
      return this.process(input, key)
    })
  }

  private async process(input: IngestInput, key: string | undefined): Promise<IngestAnswer> {
    const receivedAt = this.now()
    const letter = (position: string, reason: string, raw: string): DeadLetter => ({
      receivedAt,
      position,
      reason,
      contentType: input.contentType,
      raw,
    })
    if (input.text === undefined) {
      const reason = 'body is not valid UTF-8'
      return this.refuse(
        receivedAt,
        key,
        'invalid_encoding',
        reason,
        [letter('body', reason, 'base64:' + toBase64(input.bytes))],
        0,
      )
    }
    if (input.text.trim() === '') {
      return this.refuse(receivedAt, key, 'empty_body', 'the body holds no records', [], 0)
    }
    let parsed: ReturnType<typeof parseBody>
    try {
      parsed = parseBody(input.text, input.format, receivedAt)
    } catch (e) {
      if (!(e instanceof BodyError)) throw e
      return this.refuse(
        receivedAt,
        key,
        'invalid_body',
        e.message,
        [letter('body', e.message, input.text)],
        1,
      )
    }
    const { records, rejected } = parsed
    const deadLetters = rejected.map((r) =>
      letter(r.line !== undefined ? `line ${r.line}` : `index ${r.index}`, r.reason, r.raw),
    )
    const listed = rejected.slice(0, REJECTIONS_LISTED).map(({ raw: _, ...where }) => where)
    if (records.length === 0) {
      return this.refuse(
        receivedAt,
        key,
        'no_valid_records',
        'no record in the body could be accepted',
        deadLetters,
        rejected.length,
        {
          rejectedCount: rejected.length,
          rejected: listed,
        },
      )
    }
    const states = await this.store.loadStates(Analyser.seriesOf(records))
    const analysis = this.analyser.analyse(records, states)
    const result: IngestResult = {
      accepted: records.length,
      rejectedCount: rejected.length,
      rejected: listed,
      anomalies: analysis.anomalies.map(presentAnomaly),
    }
    const body = JSON.stringify(result)
    await this.store.commitIngest({
      receivedAt,
      records: records.map((record, i) => ({
        record,
        score: analysis.verdicts[i]!.score,
        kinds: analysis.verdicts[i]!.kinds,
      })),
      anomalies: analysis.anomalies,
      windows: analysis.windows,
      states: analysis.states,
      deadLetters,
      ...(key !== undefined ? { idempotency: { key, status: 200, response: body } } : {}),
    })
    this.metrics.recordsIngested.inc({}, records.length)
    if (rejected.length) this.metrics.recordsRejected.inc({}, rejected.length)
    for (const a of analysis.anomalies) this.metrics.anomalies.inc({ kind: a.kind })
    return { status: 200, body, replayed: false, accepted: records.length, rejected: rejected.length }
  }

  /** Answers 400, keeping whatever was rejected in the dead letters (and the answer under the key). */
  private async refuse(
    receivedAt: number,
    key: string | undefined,
    code: string,
    message: string,
    deadLetters: DeadLetter[],
    rejected: number,
    details: unknown = null,
  ): Promise<IngestAnswer> {
    const body = JSON.stringify({ error: { code, message, details } })
    if (deadLetters.length > 0 || key !== undefined) {
      await this.store.commitIngest({
        receivedAt,
        records: [],
        anomalies: [],
        windows: [],
        states: [],
        deadLetters,
        ...(key !== undefined ? { idempotency: { key, status: 400, response: body } } : {}),
      })
    }
    if (rejected) this.metrics.recordsRejected.inc({}, rejected)
    return { status: 400, body, replayed: false, accepted: 0, rejected }
  }
}

function toBase64(bytes: Uint8Array): string {
  let s = ''
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
  return btoa(s)
}
