// What a `fleet` command is: its usage, the flags it takes, whether it takes an argument, the
// checks of its values made before anything is asked, and what it does with the server.
import { parseDuration } from '../../config.js'
import type { Client } from './client.js'

export type Flag =
  | 'label'
  | 'max-uses'
  | 'expires-in'
  | 'limit'
  | 'status'
  | 'name'
  | 'version'
  | 'memory-pages'
  | 'fuel'
  | 'tick-ms'
  | 'wall-ms'
  | 'max-restarts'
  | 'telemetry'
  | 'to'
  | 'batches'
  | 'bake'
  | 'max-failures'
  | 'health-gate'
  | 'watch'

export type ParsedValues = {
  [F in Flag]?: F extends 'label' | 'to' ? string[] : F extends 'watch' ? boolean : string
}

export interface Args {
  /** The one positional argument after the command (an ID or a file), '' for none. */
  id: string
  values: ParsedValues
}

export interface Command {
  usage: string
  flags: Flag[]
  /** Positional arguments after the command: none, one (an ID or a file), or one or none. */
  ids: 0 | 1 | 'optional'
  /** Checks of the values beyond their shape (throws UsageError). */
  check?(values: ParsedValues): void
  run(c: Client, a: Args): Promise<void>
}

export class UsageError extends Error {
  constructor(
    message: string,
    readonly usage = '[--server URL] [--token ADMIN] [--json] tokens|devices|apps|deploy|deployments ...',
  ) {
    super(message)
  }
}

export function labelsOf(pairs: string[]): Record<string, string> {
  const labels: Record<string, string> = {}
  for (const pair of pairs) {
    const eq = pair.indexOf('=')
    if (eq < 1) throw new UsageError(`--label must be key=value; got ${JSON.stringify(pair)}`)
    const key = pair.slice(0, eq)
    if (Object.hasOwn(labels, key)) throw new UsageError(`--label ${key} is given twice`)
    labels[key] = pair.slice(eq + 1)
  }
  return labels
}

export function count(text: string, flag: string): number {
  const n = Number(text)
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < 1)
    throw new UsageError(`${flag} must be a positive whole number; got ${JSON.stringify(text)}`)
  return n
}

/** A duration such as 30s or 5m, in ms (a UsageError naming the flag otherwise). */
export function duration(text: string, flag: string): number {
  try {
    return parseDuration(text, flag)
  } catch (e) {
    throw new UsageError((e as Error).message)
  }
}
