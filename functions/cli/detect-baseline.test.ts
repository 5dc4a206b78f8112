import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse } from 'csv-parse/sync'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { projectRoot } from '../../kernels/node.js'

let dir: string
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'edgewatch-baseline-'))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const cli = join(projectRoot(), 'bin', 'edgewatch.js')

/** Two pumps, 600 rows each: flow, pressure, current follow a load; pressure sags from row 400 of p-1. */
function pumps(): string {
  const lines = ['time,pump,flow,pressure,current']
  for (let i = 0; i < 600; i++) {
    const load = 1 + 0.1 * Math.sin(i / 40) + 0.01 * Math.sin(i * 2.7)
    for (const pump of ['p-0', 'p-1']) {
      const sag = pump === 'p-1' && i >= 400 ? 0.7 : 1
      const t = new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString()
      const flow = 100 * load + ((i * 7) % 5) * 0.1
      const pressure = sag * (6 - 2 * load) + ((i * 3) % 4) * 0.01
      lines.push(`${t},${pump},${flow.toFixed(2)},${pressure.toFixed(3)},${(20 + 10 * load).toFixed(2)}`)
    }
  }
  return lines.join('\n') + '\n'
}

function run(args: string[]) {
  return spawnSync(process.execPath, [cli, 'detect', ...args], { encoding: 'utf8' })
}

describe('edgewatch detect --baseline', () => {
  it('learns each device from its first ROWS rows, then flags the rows of a persistent fault', () => {
    const input = join(dir, 'pumps.csv')
    writeFileSync(input, pumps())
    const output = join(dir, 'pumps.scored.csv')
    const done = run(['--input', input, '--device-column', 'pump', '--baseline', '200', '--output', output])
    expect(done.stderr).toMatch(/detect: 1200 rows/)
    expect(done.status).toBe(0)
    const rows = parse(readFileSync(output, 'utf8'), { columns: true }) as Record<string, string>[]
    const state = (pump: string, from: number, to: number) =>
      rows.filter((r, i) => r.pump === pump && i >= 2 * from && i < 2 * to && r.anomalies!.includes('state'))
    expect(state('p-1', 400, 600)).toHaveLength(200)
    expect(state('p-1', 200, 400)).toHaveLength(0)
    expect(state('p-0', 200, 600)).toHaveLength(0)
    // with the default baseline (1000 rows) the 600 rows of each pump are all still being learnt
    const byDefault = join(dir, 'pumps.default.csv')
    expect(run(['--input', input, '--device-column', 'pump', '--output', byDefault]).status).toBe(0)
    const plain = parse(readFileSync(byDefault, 'utf8'), { columns: true }) as Record<string, string>[]
    expect(plain.filter((r) => r.anomalies!.includes('state'))).toHaveLength(0)
  })

  it('refuses a baseline that is not a whole number of at least 2 rows', () => {
    const input = join(dir, 'tiny.csv')
    writeFileSync(input, 'time,v\n2026-01-01T00:00:00Z,1\n')
    for (const bad of ['1', '0', '2.5', 'ten']) {
      const r = run(['--input', input, '--baseline', bad])
      expect(r.status).toBe(2)
      expect(r.stderr).toMatch(/--baseline must be a whole number of rows from 2/)
    }
  })
})
