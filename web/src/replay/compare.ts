// Server vs local: which records the server flagged, which the local run flags, and where they differ.

export interface KindDiff {
  kind: string
  both: number
  serverOnly: number
  localOnly: number
}

export interface RecordDiff {
  at: number
  server: string[]
  local: string[]
}

export interface Comparison {
  /** Records where the two sets of kinds are equal / differ. */
  same: number
  different: number
  byKind: KindDiff[]
  /** The first differing records, in record order. */
  differences: RecordDiff[]
}

const split = (s: string): string[] => (s ? s.split(',') : [])

export function compareKinds(server: string[], local: string[], maxListed = 500): Comparison {
  if (server.length !== local.length)
    throw new Error('server and local verdicts are not for the same records')
  const kinds = new Map<string, KindDiff>()
  const entry = (kind: string) => {
    let k = kinds.get(kind)
    if (!k) {
      k = { kind, both: 0, serverOnly: 0, localOnly: 0 }
      kinds.set(kind, k)
    }
    return k
  }
  const out: Comparison = { same: 0, different: 0, byKind: [], differences: [] }
  for (let at = 0; at < server.length; at++) {
    if (server[at] === local[at]) {
      out.same++
      for (const k of split(server[at]!)) entry(k).both++
      continue
    }
    const s = split(server[at]!)
    const l = split(local[at]!)
    for (const k of s)
      if (l.includes(k)) entry(k).both++
      else entry(k).serverOnly++
    for (const k of l) if (!s.includes(k)) entry(k).localOnly++
    const differs = s.length !== l.length || s.some((k) => !l.includes(k))
    if (!differs) {
      out.same++
      continue
    }
    out.different++
    if (out.differences.length < maxListed) out.differences.push({ at, server: s, local: l })
  }
  out.byKind = [...kinds.values()].sort((a, b) => a.kind.localeCompare(b.kind))
  return out
}
