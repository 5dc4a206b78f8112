// The one error the NAB scorer raises for bad input (missing or malformed files, unknown names).
// The CLI prints its message alone; any other error is a bug and keeps its stack trace.

export class NabInputError extends Error {
  override name = 'NabInputError'
}
