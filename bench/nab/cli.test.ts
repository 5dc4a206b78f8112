import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { projectRoot } from '../../kernels/node.js'
import { nabPaths } from './paths.js'

const tsx = createRequire(import.meta.url).resolve('tsx/cli')

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [tsx, 'bench/nab/cli.ts', ...args], {
    cwd: projectRoot(),
    encoding: 'utf8',
  })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

describe('bench/nab/cli.ts', () => {
  it('scores published results: a table, then one JSON line', () => {
    const r = cli('--score-results', join(nabPaths().results, 'numenta'))
    expect(r.code).toBe(0)
    const lines = r.stdout.trim().split('\n')
    expect(lines[0]).toMatch(/numenta/)
    const last = JSON.parse(lines.at(-1)!)
    expect(last).toMatchObject({ detector: 'numenta', files: 58, windows: 116 })
    expect(last.standard).toBeCloseTo(70.1, 1)
    expect(Object.keys(last.thresholds)).toEqual(['standard', 'reward_low_FP_rate', 'reward_low_FN_rate'])
  })

  it('without --score-results runs edgewatch, writes NAB-layout outputs that score the same, and a 2-fold', () => {
    const out = mkdtempSync(join(tmpdir(), 'nab-out-'))
    try {
      const r = cli('--out', out)
      expect(r.code).toBe(0)
      const last = JSON.parse(r.stdout.trim().split('\n').at(-1)!)
      expect(last).toMatchObject({ detector: 'edgewatch', files: 58, windows: 116 })
      // The product's defaults, no override: the score issue 15 reached with them.
      expect(last.config).toBe('defaults')
      expect(last.standard).toBeGreaterThan(69.9)
      expect(Object.keys(last.twoFold.mean)).toEqual(['standard', 'reward_low_FP_rate', 'reward_low_FN_rate'])
      const again = cli('--score-results', join(out, 'edgewatch'))
      expect(JSON.parse(again.stdout.trim().split('\n').at(-1)!).standard).toBeCloseTo(last.standard, 6)
    } finally {
      rmSync(out, { recursive: true, force: true })
    }
  })

  it('reports bad input in one line, without a stack trace', () => {
    const missing = cli('--score-results', '/nonexistent/nab-results')
    expect(missing.code).toBe(1)
    expect(missing.stderr.trim()).toBe(
      'error: cannot read results directory /nonexistent/nab-results: no such directory',
    )
    const unknownFlag = cli('--bogus')
    expect(unknownFlag.code).toBe(2)
    expect(unknownFlag.stderr).toMatch(/^error: .*bogus/)
    expect(unknownFlag.stderr).not.toMatch(/\n\s+at /)
    const notJson = cli('--config', '{"detectors":')
    expect(notJson.code).toBe(2)
    expect(notJson.stderr).toMatch(/^error: --config is not JSON/)
    const invalid = cli('--config', '{"detectors":{"shape":{"categories":99}}}')
    expect(invalid.code).toBe(2)
    expect(invalid.stderr).toMatch(
      /^error: --config is not a valid analysis config: detectors\.shape\.categories: /,
    )
    expect(invalid.stderr).not.toMatch(/\n\s+at /)
  })
})
