// How `edgewatch fleet` prints: tables padded to their widest cell, times shortened, and every text
// that came from a device cleaned so that it cannot rewrite the terminal.
import type { Page } from './client.js'

export function more(page: Page<unknown>, what: string): string {
  return page.next ? `(more ${what}: raise --limit, or leave it out for all)\n` : ''
}

export function labelText(labels: Record<string, string>): string {
  const pairs = Object.entries(labels).map(([k, v]) => `${k}=${v}`)
  return pairs.length ? pairs.join(',') : '-'
}

/** An ISO time as `2026-01-02 10:00:05Z`; `-` for none. */
export function when(iso: string | null | undefined): string {
  return iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '-'
}

export function lines(...text: string[]): string {
  return text.map(clean).join('\n') + '\n'
}

/** Columns padded to their widest cell; every cell cleaned. */
export function table(head: string[], rows: string[][]): string {
  const all = [head, ...rows.map((r) => r.map(clean))]
  const widths = head.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)))
  return (
    all
      .map((r) =>
        r
          .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!)))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  )
}

/**
 * Names, labels and ids come from devices: control and formatting characters (escape sequences,
 * newlines, bidirectional overrides) are shown escaped, so that they cannot rewrite the terminal.
 */
export function clean(text: string): string {
  return text.replace(
    /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu,
    (c) => `\\u${c.codePointAt(0)!.toString(16).padStart(4, '0')}`,
  )
}
