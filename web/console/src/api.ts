// The console's one way to the server: fetch with the admin token, the API's error shape as an
// ApiError, and lists read page by page with their cursor.

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message)
  }
}

/** Dispatched on the window when the server refuses the token. */
export const UNAUTHORIZED = 'edgewatch:unauthorized'

export type Query = Record<string, string | number | undefined | null>

export interface Page<T> {
  items: T[]
  next: string | null
}

export function withQuery(path: string, query: Query = {}): string {
  const q = new URLSearchParams()
  for (const [k, v] of Object.entries(query))
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v))
  const s = q.toString()
  return s ? `${path}?${s}` : path
}

/** An ApiError from a failed answer: the server's `{error: {code, message, details}}` when it has one. */
export async function errorOf(res: Response): Promise<ApiError> {
  const text = await res.text().catch(() => '')
  try {
    const e = (JSON.parse(text) as { error: { code: string; message: string; details?: unknown } }).error
    return new ApiError(res.status, e.code, e.message, e.details)
  } catch {
    return new ApiError(res.status, `http_${res.status}`, text.slice(0, 300) || res.statusText)
  }
}

export class Api {
  constructor(
    readonly token: string,
    readonly origin: string = location.origin,
  ) {}

  /** The raw answer (for streams); throws only when the server cannot be reached. */
  async raw(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers)
    headers.set('authorization', `Bearer ${this.token}`)
    try {
      return await fetch(new URL(path, this.origin), { ...init, headers })
    } catch (e) {
      if ((e as Error).name === 'AbortError') throw e
      throw new ApiError(0, 'unreachable', `cannot reach the server: ${(e as Error).message}`)
    }
  }

  async request<T>(path: string, init: RequestInit = {}): Promise<T> {
    const res = await this.raw(path, init)
    if (!res.ok) {
      const e = await errorOf(res)
      // The token stopped working (rotated away, say): the page asks for one again.
      if (res.status === 401) dispatchEvent(new CustomEvent(UNAUTHORIZED, { detail: e.message }))
      throw e
    }
    return (await res.json()) as T
  }

  get<T>(path: string, query?: Query, signal?: AbortSignal): Promise<T> {
    return this.request<T>(withQuery(path, query), { signal })
  }

  post<T>(path: string, body?: unknown): Promise<T> {
    return this.request<T>(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
  }

  /** Every item of a list, following `next` (at most `maxPages` pages). */
  async all<T>(path: string, query: Query = {}, maxPages = 200, signal?: AbortSignal): Promise<T[]> {
    const out: T[] = []
    let cursor: string | null = null
    for (let i = 0; i < maxPages; i++) {
      const page: Page<T> = await this.get<Page<T>>(path, { limit: 1000, ...query, cursor }, signal)
      out.push(...page.items)
      cursor = page.next
      if (!cursor) break
    }
    return out
  }
}
