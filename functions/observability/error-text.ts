// An error as text for logs and for matching: its message, its stack when it has one, and the
// payload that Spin's component errors carry (the database's own message is there, not in `message`).
export function errorText(e: unknown, withStack = false): string {
  if (e instanceof Error) {
    const payload = (e as { payload?: unknown }).payload
    const head = withStack && e.stack ? e.stack : `${e.name}: ${e.message}`
    return payload === undefined ? head : `${head} ${errorText(payload)}`
  }
  if (typeof e === 'string') return e
  try {
    return JSON.stringify(e) ?? String(e)
  } catch {
    return String(e)
  }
}
