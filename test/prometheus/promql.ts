// The metric names a PromQL expression selects, and the metric names a /metrics response declares.

const KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'and',
  'or',
  'unless',
  'offset',
  'bool',
  'inf',
  'nan',
])

/**
 * The metric names in `expr`: what is left once strings, label matchers (`{...}`), ranges (`[...]`),
 * grouping clauses (`by (...)`), numbers, function calls and keywords are taken out.
 */
export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
  const names = new Set<string>()
  for (const m of stripped.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*(?=\s*(\()?)/g)) {
    if (m[1]) continue // a function
    const before = stripped[m.index! - 1]
    if (before !== undefined && /[0-9.]/.test(before)) continue // part of a number (1e3)
    if (KEYWORDS.has(m[0].toLowerCase())) continue
    names.add(m[0])
  }
  return [...names]
}

/** Every series name a text-format response can carry: histograms give `_bucket`, `_sum` and `_count`. */
export function declaredNames(text: string): Set<string> {
  const names = new Set<string>()
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const [, name, type] = m
    if (type === 'histogram' || type === 'summary')
      for (const suffix of ['_bucket', '_sum', '_count']) names.add(name! + suffix)
    else names.add(name!)
  }
  return names
}

/** The series lines of a text-format response (neither comments nor blank). */
export function seriesLines(text: string): string[] {
  return text.split('\n').filter((l) => l !== '' && !l.startsWith('#'))
}
