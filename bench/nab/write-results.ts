// Writes a detector's outputs in NAB's results layout:
//   <dir>/<category>/<detector>_<file>.csv   with columns timestamp,value,anomaly_score

import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import type { SeriesOutput } from './own.js'

function nabTimestamp(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ')
}

export function writeResults(
  dir: string,
  detector: string,
  outputs: ReadonlyMap<string, SeriesOutput>,
): void {
  for (const [name, out] of outputs) {
    const path = join(dir, dirname(name), `${detector}_${name.slice(name.indexOf('/') + 1)}`)
    mkdirSync(dirname(path), { recursive: true })
    const lines = ['timestamp,value,anomaly_score']
    for (let i = 0; i < out.timestamps.length; i++)
      lines.push(`${nabTimestamp(out.timestamps[i]!)},${out.values[i]},${out.scores[i]}`)
    writeFileSync(path, lines.join('\n') + '\n')
  }
}
