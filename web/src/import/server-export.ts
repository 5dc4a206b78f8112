// Where the import pulls a server's export from: `/v1/export` with the API's own filter names.
import type { ImportSource } from './import.js'

export interface ServerPull {
  /** The server's base URL, e.g. http://127.0.0.1:3000 (empty: this page's origin). */
  server: string
  token: string
  deviceId?: string
  /** ISO-8601 or epoch ms; empty for no bound (the export's `since` and `until`). */
  since?: string
  until?: string
}

/** The export URL for a pull; throws a readable error when the server field is not a URL. */
export function exportUrl(pull: ServerPull, pageOrigin: string): URL {
  const base = pull.server.trim() || pageOrigin
  let url: URL
  try {
    url = new URL('/v1/export', base)
  } catch {
    throw new Error(`not a server URL: ${base}`)
  }
  if (pull.deviceId) url.searchParams.set('deviceId', pull.deviceId)
  if (pull.since) url.searchParams.set('since', pull.since)
  if (pull.until) url.searchParams.set('until', pull.until)
  return url
}

/**
 * Asks the server for the export and gives its body as an import source. The download must end
 * with the export's footer: a connection dropped mid-stream looks like a clean end otherwise.
 */
export async function pullSource(
  pull: ServerPull,
  pageOrigin: string,
  fetcher: typeof fetch = fetch,
): Promise<ImportSource> {
  const url = exportUrl(pull, pageOrigin)
  let res: Response
  try {
    res = await fetcher(url, { headers: { authorization: `Bearer ${pull.token}` } })
  } catch (e) {
    throw new Error(`cannot reach ${url.origin}: ${(e as Error).message}`)
  }
  if (!res.ok || !res.body) {
    const text = await res.text().catch(() => '')
    let message = text.slice(0, 300)
    try {
      message = (JSON.parse(text) as { error: { message: string } }).error.message
    } catch {}
    throw new Error(`the server answered ${res.status}: ${message}`)
  }
  const length = Number(res.headers.get('content-length'))
  const label = `${pull.deviceId || 'all devices'} from ${url.host}`
  return {
    stream: res.body,
    name: `${label}.ndjson`,
    source: url.toString(),
    fromServer: true,
    footerRequired: true,
    totalBytes: Number.isFinite(length) && length > 0 ? length : undefined,
  }
}
