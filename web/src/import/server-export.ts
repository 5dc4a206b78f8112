// Where the import pulls a server's export from: `/v1/export` with the API's own filter names.

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
