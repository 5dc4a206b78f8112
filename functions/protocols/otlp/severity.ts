// An OTLP log record's severity as a record's level. The severity number (1-24) is the normalised
// one and wins; without it the severity text is read (`WARNING`, `Err`, …); edgewatch has no
// trace level, so TRACE reads as debug.
import type { Level } from '../../domain/types.js'

/** SeverityNumber ranges: 1-4 TRACE, 5-8 DEBUG, 9-12 INFO, 13-16 WARN, 17-20 ERROR, 21-24 FATAL. */
const BY_NUMBER: readonly Level[] = ['debug', 'debug', 'info', 'warn', 'error', 'fatal']

const BY_TEXT: Record<string, Level> = {
  trace: 'debug',
  debug: 'debug',
  info: 'info',
  information: 'info',
  notice: 'info',
  warn: 'warn',
  warning: 'warn',
  error: 'error',
  err: 'error',
  fatal: 'fatal',
  critical: 'fatal',
  crit: 'fatal',
  alert: 'fatal',
  emergency: 'fatal',
  emerg: 'fatal',
}

export function levelOf(severityNumber: number, severityText: string): Level | undefined {
  if (severityNumber >= 1 && severityNumber <= 24) return BY_NUMBER[Math.floor((severityNumber - 1) / 4)]
  // A text like `INFO2` or `Warn` names its range by its letters.
  const word = /^[a-z]+/i.exec(severityText.trim())?.[0]?.toLowerCase()
  return word === undefined ? undefined : Object.hasOwn(BY_TEXT, word) ? BY_TEXT[word] : undefined
}
