import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { projectRoot } from '../../kernels/node.js'

const tsx = createRequire(import.meta.url).resolve('tsx/cli')

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [tsx, 'bench/quality/cli.ts', ...args], {
    cwd: projectRoot(),
    encoding: 'utf8',
  })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

describe('bench/quality/cli.ts', () => {
  it('refuses an unknown flag with its usage', () => {
    const r = cli('--nab-root', 'x')
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/--nab-root/)
    expect(r.stderr).toMatch(/usage:/)
  })

  it('reports every check but NAB when the corpus is missing, ending with one JSON line', () => {
    const empty = mkdtempSync(join(tmpdir(), 'no-nab-'))
    try {
      const r = cli('--nab', empty)
      expect(r.code).toBe(1)
      expect(r.stderr).toMatch(/NAB skipped: cannot read/)
      expect(r.stderr).toMatch(/seeded faults, pump physics/)
      expect(r.stdout).toMatch(/Persistent faults, point-wise/)
      const last = JSON.parse(r.stdout.trim().split('\n').at(-1)!)
      expect(last).toMatchObject({ bench: 'quality', config: 'defaults', nab: null })
      expect(last.seeded.map((s: { generator: string }) => s.generator)).toHaveLength(3)
      for (const s of last.seeded) {
        expect(s.faults).toBeGreaterThan(200)
        expect(s.recall).toBeGreaterThan(0)
        expect(s.cleanFlagged).toBeLessThan(1)
      }
      expect(last.persistent.map((p: { baselineRows: number }) => p.baselineRows)).toEqual([1440, 1200])
      for (const p of last.persistent) expect(p.tp + p.fn).toBeGreaterThan(5000)
    } finally {
      rmSync(empty, { recursive: true, force: true })
    }
  })
})
