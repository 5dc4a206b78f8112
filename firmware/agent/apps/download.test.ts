import { describe, expect, it } from 'vitest'
import { BodyTooLargeError, directTransport, type FetchLike } from '../transport.js'
import { appPath, downloadRelease, sha256Hex } from './download.js'
import type { AppRelease } from './release.js'
import { DEFAULT_LIMITS } from './testing/app-server.js'
import { wellBehaved } from './testing/wasm.js'

const bytes = wellBehaved()

async function releaseOf(b: Uint8Array): Promise<AppRelease> {
  return {
    appId: 'app/1 x',
    name: 'x',
    version: '1',
    sha256: await sha256Hex(b),
    size: b.length,
    deploymentId: 'dep-1',
    limits: DEFAULT_LIMITS,
    telemetry: 'add',
  }
}

/** A server answering `answer` to every request, and remembering what it was asked. */
function serving(answer: () => Response) {
  const asked: Array<{ url: string; init: RequestInit }> = []
  const fetch: FetchLike = async (url, init) => {
    asked.push({ url, init })
    return answer()
  }
  return { asked, transport: directTransport('http://edgewatch.test', fetch) }
}

const wasm = (b: Uint8Array, headers: Record<string, string> = {}) =>
  new Response(b.slice(), { status: 200, headers: { 'content-type': 'application/wasm', ...headers } })

describe('app download', () => {
  it('GETs /v1/device/apps/{appId} and answers the bytes when their sha256 is the release’s', async () => {
    const { asked, transport } = serving(() => wasm(bytes))
    const release = await releaseOf(bytes)
    const got = await downloadRelease(
      (r, s) => transport.send(r, s),
      release,
      1024,
      new AbortController().signal,
    )
    expect(got).toEqual({ kind: 'bytes', bytes })
    expect(asked[0]!.url).toBe('http://edgewatch.test/v1/device/apps/app%2F1%20x')
    expect(asked[0]!.init.method).toBe('GET')
    expect(appPath('a b')).toBe('/v1/device/apps/a%20b')
  })

  it('fails on a sha256 mismatch, and on a refusal for good; retries a 503 with its Retry-After', async () => {
    const release = await releaseOf(bytes)
    const signal = new AbortController().signal
    const other = serving(() => wasm(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0])))
    const mismatch = await downloadRelease((r, s) => other.transport.send(r, s), release, 1024, signal)
    expect(mismatch).toMatchObject({ kind: 'failed', reason: expect.stringMatching(/^sha256 mismatch/) })

    const gone = serving(() =>
      Response.json({ error: { code: 'app_not_found', message: 'no such app' } }, { status: 404 }),
    )
    expect(await downloadRelease((r, s) => gone.transport.send(r, s), release, 1024, signal)).toEqual({
      kind: 'failed',
      reason: 'download refused (404 app_not_found): no such app',
    })

    const busy = serving(
      () =>
        new Response('{"error":{"code":"overloaded","message":"later"}}', {
          status: 503,
          headers: { 'retry-after': '3' },
        }),
    )
    expect(await downloadRelease((r, s) => busy.transport.send(r, s), release, 1024, signal)).toEqual({
      kind: 'retry',
      reason: 'download refused (503 overloaded): later',
      retryAfter: '3',
    })
  })

  it('refuses an answer larger than the bound, by its Content-Length or as it streams', async () => {
    const release = await releaseOf(bytes)
    const signal = new AbortController().signal
    const declared = serving(() => wasm(new Uint8Array(5000), { 'content-length': '5000' }))
    expect(await downloadRelease((r, s) => declared.transport.send(r, s), release, 1000, signal)).toEqual({
      kind: 'failed',
      reason: 'module too large: the answer has 5000 bytes or more, at most 1000 are taken',
    })
    // A body that does not say its length is cut off as it streams.
    const streamed = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.enqueue(new Uint8Array(600))
      },
    })
    const endless = serving(() => new Response(streamed, { status: 200 }))
    await expect(
      endless.transport.send({
        method: 'GET',
        path: '/x',
        headers: {},
        responseType: 'bytes',
        maxBodyBytes: 1000,
      }),
    ).rejects.toBeInstanceOf(BodyTooLargeError)
  })

  it('keeps text answers as they were', async () => {
    const { transport } = serving(() => new Response('{"ok":true}', { status: 200 }))
    const res = await transport.send({ method: 'POST', path: '/v1/ingest', headers: {}, body: '{}' })
    expect(res.body).toBe('{"ok":true}')
    expect(res.bodyBytes).toBeUndefined()
  })
})
