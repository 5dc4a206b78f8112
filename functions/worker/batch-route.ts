// What differs between the routes whose batches the front door cuts by shard: how a batch is cut,
// which part answers are acceptances, how the accepted parts' answers make the batch's, and the
// shape the route's errors take. POST /v1/ingest's is here; the Influx writes' in influx.ts.
import type { BodyFormat } from '../domain/ingest-body.js'
import { type ApiError, errorBody } from '../http/errors.js'
import { mergeAccepted, type PartAnswer } from './merge.js'
import { type Plan, planBatch } from './split.js'

/** A part's answer, with the headers it came with. */
export type Answered = PartAnswer & { headers: Headers }

export interface BatchRoute {
  plan(text: string, now: number): Promise<Plan>
  /** Whether a part was accepted; the first one that was not answers for the batch. */
  accepted(answer: Answered): boolean
  /** The batch's answer when every part was accepted (headers: those of a part with that status). */
  merge(answers: Answered[], now: number): { status: number; body: string | null }
  /** An error the front door finds itself (too large, a reused key), as the route would answer it. */
  error(e: ApiError): Response
}

/** POST /v1/ingest: JSON or NDJSON, answered in edgewatch's ingest shape. */
export function ingestRoute(format: BodyFormat, shards: number): BatchRoute {
  return {
    plan: (text, now) => planBatch(text, format, now, shards),
    accepted: (a) => a.status === 200,
    merge: (answers, now) => ({ status: 200, body: mergeAccepted(answers, now) }),
    error: errorResponse,
  }
}

export function errorResponse(e: ApiError): Response {
  return Response.json(errorBody(e.code, e.message, e.details), { status: e.status, headers: e.headers })
}
