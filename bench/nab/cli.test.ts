import { spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
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

  it('without --score-results says it is not implemented yet and exits 2', () => {
    const r = cli()
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/not implemented yet: use --score-results DIR/)
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
  })
})
