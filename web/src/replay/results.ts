// The replay's results as files: records with score and kinds (NDJSON or CSV), and the parameter
// set as the JSON the server loads (EDGEWATCH_CONFIG / EDGEWATCH_CONFIG_FILE).
import type { AnalysisConfigInput } from '../../../functions/domain/analysis-config.js'

/** Records as NDJSON: every field as imported, `score` and `anomalies` (kinds, comma separated) added. */
export function* resultsNdjson(body: string[], scores: Float64Array, kinds: string[]): Generator<string> {
  for (let i = 0; i < body.length; i++) {
    const record = JSON.parse(body[i]!) as Record<string, unknown>
    if (typeof record.ts === 'number') record.ts = new Date(record.ts).toISOString()
    yield JSON.stringify({ ...record, score: scores[i], anomalies: kinds[i] }) + '\n'
  }
}

const csvCell = (v: unknown): string => {
  if (v === undefined || v === null) return ''
  const s = typeof v === 'object' ? JSON.stringify(v) : String(v)
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s
}

/** Records as CSV: the union of the fields (first-seen order), then score and anomalies. */
export function* resultsCsv(body: string[], scores: Float64Array, kinds: string[]): Generator<string> {
  const records = body.map((b) => JSON.parse(b) as Record<string, unknown>)
  const columns: string[] = []
  const seen = new Set<string>()
  for (const r of records)
    for (const k of Object.keys(r))
      if (!seen.has(k) && k !== 'score' && k !== 'anomalies') {
        seen.add(k)
        columns.push(k)
      }
  yield [...columns, 'score', 'anomalies'].map(csvCell).join(',') + '\n'
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!
    if (typeof r.ts === 'number') r.ts = new Date(r.ts).toISOString()
    yield [...columns.map((c) => csvCell(r[c])), csvCell(scores[i]), csvCell(kinds[i])].join(',') + '\n'
  }
}

/** The parameter set, as the server's configuration file. */
export function paramsJson(config: AnalysisConfigInput): string {
  return JSON.stringify(config, null, 2) + '\n'
}
