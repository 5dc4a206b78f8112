// The server, as `edgewatch fleet` reaches it: where it is, the admin token, and one call that
// turns every failure (refused, unreachable, not edgewatch) into a line a person can act on.
import { existsSync, readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { UsageError } from './command.js'

const DEFAULT_SERVER = 'http://127.0.0.1:3000'
const TIMEOUT_MS = 30_000
/** The most the server returns in one page. */
const PAGE_MAX = 1000

export interface FleetIo {
  env: Record<string, string | undefined>
  cwd: string
  fetch: typeof fetch
  out(text: string): void
  err(text: string): void
  now(): number
  sleep(ms: number): Promise<void>
  /** Whether stdout is a terminal (a followed deployment is then redrawn in place). */
  interactive: boolean
}

export const processIo = (): FleetIo => ({
  env: process.env,
  cwd: process.cwd(),
  fetch: (input, init) => fetch(input, init),
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  now: Date.now,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  interactive: process.stdout.isTTY === true,
})

/** The server's answer `{"error": {"code", "message"}}`, or a failure shaped like one. */
export class ApiFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

/** The server could not be asked at all. */
export class Unreachable extends Error {}

export function serverUrl(flag: string | undefined, env: FleetIo['env']): string {
  const text = flag ?? (env.EDGEWATCH_SERVER || DEFAULT_SERVER)
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw new UsageError(`the server must be an http(s) URL; got ${JSON.stringify(text)}`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UsageError(`the server must be an http(s) URL; got ${JSON.stringify(text)}`)
  // A path is kept, for a server behind a prefix: https://host/edgewatch.
  return (url.origin + url.pathname).replace(/\/+$/, '')
}

/** --token, else EDGEWATCH_ADMIN_TOKEN (its first, if a list), else the token `serve` generated. */
export function adminToken(flag: string | undefined, io: FleetIo): string {
  if (flag !== undefined) {
    // A bearer token is printable ASCII without spaces; anything else could not be sent in a header.
    if (!/^[!-~]+$/.test(flag)) throw new UsageError('--token must be printable ASCII without spaces')
    return flag
  }
  const fromEnv = io.env.EDGEWATCH_ADMIN_TOKEN?.split(',')
    .map((t) => t.trim())
    .find(Boolean)
  if (fromEnv) return fromEnv
  const file = resolve(io.cwd, io.env.EDGEWATCH_DATA_DIR || './data', 'tokens.json')
  let kept: unknown
  if (existsSync(file)) {
    try {
      kept = JSON.parse(readFileSync(file, 'utf8'))
    } catch (e) {
      throw new UsageError(`${file} is not readable JSON (${(e as Error).message})`)
    }
  }
  const admin = (kept as { admin?: unknown } | undefined)?.admin
  if (typeof admin !== 'string' || !admin)
    throw new UsageError(
      `no admin token: give --token, set EDGEWATCH_ADMIN_TOKEN, or run where edgewatch serve keeps its data (no admin token in ${file})`,
    )
  io.err(`edgewatch fleet: using the admin token kept in ${file}\n`)
  return admin
}

export class Client {
  constructor(
    readonly io: FleetIo,
    readonly server: string,
    private readonly token: string,
    readonly json = false,
  ) {}

  /** A JSON body, or bytes sent as `contentType`. */
  async call<T>(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<T> {
    const url = this.server + path
    let res: Response
    try {
      res = await this.io.fetch(url, {
        method,
        headers: {
          Authorization: `Bearer ${this.token}`,
          Accept: 'application/json',
          ...(body === undefined ? {} : { 'Content-Type': contentType }),
        },
        body:
          body === undefined
            ? undefined
            : body instanceof Uint8Array
              ? (body as Uint8Array<ArrayBuffer>)
              : JSON.stringify(body),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      })
    } catch (e) {
      throw unreachable(this.server, e)
    }
    const text = await res.text().catch((e: unknown) => {
      throw unreachable(this.server, e)
    })
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch {
      parsed = undefined
    }
    if (!res.ok) {
      const error = (parsed as { error?: { code?: unknown; message?: unknown } } | undefined)?.error
      if (typeof error?.code === 'string')
        throw new ApiFailure(error.code, typeof error.message === 'string' ? error.message : res.statusText)
      throw new ApiFailure(
        `http_${res.status}`,
        `${method} ${url}: ${text.trim().slice(0, 200) || res.statusText || 'no body'}`,
      )
    }
    if (parsed === undefined)
      throw new ApiFailure(
        'bad_answer',
        `${method} ${url} answered ${res.status} without JSON: is it edgewatch?`,
      )
    return parsed as T
  }

  /** Every page of a list, following `next`, up to `limit` items. */
  async collect<T>(path: string, query: URLSearchParams, limit?: number): Promise<Page<T>> {
    const items: T[] = []
    let cursor: string | null = null
    for (;;) {
      const q = new URLSearchParams(query)
      q.set('limit', String(Math.min(PAGE_MAX, limit === undefined ? PAGE_MAX : limit - items.length)))
      if (cursor) q.set('cursor', cursor)
      const page: Page<T> = await this.call('GET', `${path}?${q}`)
      items.push(...page.items)
      const next = page.next
      if (!next || (limit !== undefined && items.length >= limit)) return { items, next }
      if (next === cursor) throw new ApiFailure('bad_answer', `${path} gave the same cursor twice`)
      cursor = next
    }
  }

  print(json: unknown, human: () => string): void {
    this.io.out(this.json ? JSON.stringify(json) + '\n' : human())
  }
}

function unreachable(server: string, e: unknown): Unreachable {
  const err = e as Error & { cause?: { code?: string; message?: string } }
  if (err.name === 'TimeoutError')
    return new Unreachable(`no answer from the server at ${server} in ${TIMEOUT_MS / 1000} s`)
  const code = err.cause?.code
  const why =
    code === 'ECONNREFUSED'
      ? 'connection refused'
      : code === 'ENOTFOUND'
        ? 'no such host'
        : (code ?? err.cause?.message ?? err.message)
  return new Unreachable(
    `cannot reach the server at ${server} (${why}): is edgewatch serve running there? Set --server or EDGEWATCH_SERVER`,
  )
}

export interface Page<T> {
  items: T[]
  next: string | null
}
