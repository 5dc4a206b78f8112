// Fetching a release's module: `GET /v1/device/apps/{appId}` with the device token answers its bytes
// (application/wasm), at most the device's module bound; they are used only if their sha256 is the
// release's. What an answer means:
//   200, sha256 matches         the bytes
//   200, sha256 differs         failed: sha256 mismatch (for good: the same request would give the same)
//   answer past the bound       failed: module too large
//   400, 403, 404, 410          failed with the server's reason (the app is not this device's to run)
//   anything else, no answer    try again later, with backoff (Retry-After honoured)
import { errorOf, ProtocolError, RevokedError } from '../errors.js'
import {
  BodyTooLargeError,
  TransportError,
  type TransportRequest,
  type TransportResponse,
} from '../transport.js'
import type { AppRelease } from './release.js'

export type Download =
  | { kind: 'bytes'; bytes: Uint8Array }
  | { kind: 'failed'; reason: string }
  | { kind: 'retry'; reason: string; retryAfter: string | undefined }

export type Call = (request: TransportRequest, signal?: AbortSignal) => Promise<TransportResponse>

const FOR_GOOD = new Set([400, 403, 404, 410])

export const appPath = (appId: string): string => `/v1/device/apps/${encodeURIComponent(appId)}`

export async function downloadRelease(
  call: Call,
  release: AppRelease,
  maxBytes: number,
  signal: AbortSignal,
): Promise<Download> {
  let res: TransportResponse
  try {
    res = await call(
      {
        method: 'GET',
        path: appPath(release.appId),
        headers: { accept: 'application/wasm' },
        responseType: 'bytes',
        maxBodyBytes: maxBytes,
      },
      signal,
    )
  } catch (e) {
    if (e instanceof RevokedError) return { kind: 'failed', reason: 'the server revoked this device' }
    if (e instanceof BodyTooLargeError) return { kind: 'failed', reason: `module too large: ${e.message}` }
    if (e instanceof TransportError)
      return { kind: 'retry', reason: `network: ${e.message}`, retryAfter: undefined }
    if (e instanceof ProtocolError) {
      return { kind: 'retry', reason: `authentication: ${e.code}: ${e.message}`, retryAfter: e.retryAfter }
    }
    throw e
  }
  if (res.status === 200) {
    const bytes = res.bodyBytes ?? new TextEncoder().encode(res.body)
    const digest = await sha256Hex(bytes)
    if (digest !== release.sha256) {
      return {
        kind: 'failed',
        reason: `sha256 mismatch: the release says ${release.sha256}, the bytes are ${digest}`,
      }
    }
    return { kind: 'bytes', bytes }
  }
  const error = errorOf(res)
  const reason = `download refused (${res.status} ${error.code}): ${error.message}`.slice(0, 300)
  if (FOR_GOOD.has(res.status)) return { kind: 'failed', reason }
  return { kind: 'retry', reason, retryAfter: res.headers['retry-after'] }
}

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>))
  let hex = ''
  for (const b of digest) hex += b.toString(16).padStart(2, '0')
  return hex
}
