// Tiny DOM helpers: build elements, format numbers and times.

type Child = Node | string | number | null | undefined | false
type Attrs = Record<string, string | number | boolean | EventListener | undefined>

/** An element with attributes (`on…` keys are listeners) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag)
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue
    if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value)
    else if (value === true) el.setAttribute(key, '')
    else el.setAttribute(key, String(value))
  }
  for (const c of children)
    if (c !== null && c !== undefined && c !== false) el.append(typeof c === 'number' ? String(c) : c)
  return el
}

export function byId(id: string): HTMLElement {
  const el = document.getElementById(id)
  if (!el) throw new Error(`no #${id} in the page`)
  return el
}

export const fmtInt = (n: number): string => Math.round(n).toLocaleString('en-US')

export function fmtBytes(n: number): string {
  if (n < 1024) return `${n} B`
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`
  return `${(n / 1024 ** 3).toFixed(2)} GiB`
}

export const fmtTime = (ms: number): string =>
  Number.isFinite(ms) ? new Date(ms).toISOString().replace('.000Z', 'Z') : '–'

/** A message from anything thrown (comlink passes worker errors as Error). */
export const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e))
