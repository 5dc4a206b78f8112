import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { readDetectorResults } from './corpus.js'
import { NabInputError } from './errors.js'
import { loadProfiles } from './profiles.js'
import { loadWindows, type Window } from './windows.js'

const GOOD = 'timestamp,value,anomaly_score\n2014-01-01 00:00:00,1,0.1\n2014-01-01 00:05:00,2,0.9\n'
const window: Window[] = [{ start: Date.UTC(2014, 0, 1), end: Date.UTC(2014, 0, 1, 0, 5) }]

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'nab-corpus-'))
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

/** Writes <dir>/det/<category>/<file> and returns <dir>/det. */
function put(path: string, text: string): string {
  const full = join(dir, 'det', path)
  mkdirSync(join(full, '..'), { recursive: true })
  writeFileSync(full, text)
  return join(dir, 'det')
}

const expectInputError = (f: () => unknown, message: RegExp) => {
  expect(f).toThrow(NabInputError)
  expect(f).toThrow(message)
}

describe('readDetectorResults', () => {
  it('reads <category>/<detector>_<file>.csv into outputs named like the windows file', () => {
    const results = put('cat/det_x.csv', GOOD)
    put('det_standard_scores.csv', 'not,read\n')
    const { detector, outputs } = readDetectorResults(results, new Map([['cat/x.csv', window]]))
    expect(detector).toBe('det')
    const x = outputs.get('cat/x.csv')!
    expect([...(x.scores as Float64Array)]).toEqual([0.1, 0.9])
    expect([...(x.timestamps as Float64Array)]).toEqual([Date.UTC(2014, 0, 1), Date.UTC(2014, 0, 1, 0, 5)])
  })

  it('reports a missing directory', () => {
    expectInputError(
      () => readDetectorResults(join(dir, 'nope'), new Map()),
      /cannot read results directory .*no such directory/,
    )
  })

  it('reports data files that have no results', () => {
    const results = put('cat/det_x.csv', GOOD)
    const windows = new Map([
      ['cat/x.csv', window],
      ['cat/y.csv', window],
    ])
    expectInputError(
      () => readDetectorResults(results, windows),
      /no results for 1 of 2 data files: cat\/y\.csv/,
    )
  })

  it('reports a results file for an unknown data file, or with another detector prefix', () => {
    put('cat/det_x.csv', GOOD)
    const results = put('cat/det_z.csv', GOOD)
    expectInputError(
      () => readDetectorResults(results, new Map([['cat/x.csv', window]])),
      /unknown data file cat\/z\.csv/,
    )
    rmSync(join(results, 'cat', 'det_z.csv'))
    put('cat/other_x.csv', GOOD)
    expectInputError(() => readDetectorResults(results, new Map([['cat/x.csv', window]])), /det_<file>\.csv/)
  })

  it('reports malformed rows with file and line', () => {
    const windows = new Map([['cat/x.csv', window]])
    const cases: [string, RegExp][] = [
      [GOOD + '2014-01-01 00:10:00,3,abc\n', /det_x\.csv:4: anomaly_score "abc" is not a finite number/],
      [GOOD + '2014-01-01 00:10:00,3\n', /malformed CSV: .*line 4/],
      [GOOD + 'yesterday,3,0.5\n', /det_x\.csv:4: malformed timestamp "yesterday"/],
      ['timestamp,value\n2014-01-01 00:00:00,1\n', /no "anomaly_score" column/],
      ['', /empty file/],
    ]
    for (const [text, message] of cases) {
      const results = put('cat/det_x.csv', text)
      expectInputError(() => readDetectorResults(results, windows), message)
    }
  })
})

describe('label and profile files', () => {
  it('rejects malformed windows and profiles with a clear message', () => {
    const path = join(dir, 'w.json')
    const cases: [string, RegExp][] = [
      ['{', /not valid JSON/],
      ['{"a.csv": [["2014-01-01 00:00:00"]]}', /not a \[start, end\] pair/],
      ['{"a.csv": [["2014-01-02 00:00:00", "2014-01-01 00:00:00"]]}', /ends before it starts/],
      [
        '{"a.csv": [["2014-01-01 00:00:00", "2014-01-03 00:00:00"], ["2014-01-02 00:00:00", "2014-01-04 00:00:00"]]}',
        /overlap/,
      ],
    ]
    for (const [text, message] of cases) {
      writeFileSync(path, text)
      expectInputError(() => loadWindows(path), message)
    }
    expectInputError(() => loadWindows(join(dir, 'none.json')), /no such file/)
    writeFileSync(path, '{"p": {"CostMatrix": {"tpWeight": 1}}}')
    expectInputError(() => loadProfiles(path), /profile p has no numeric CostMatrix\.fpWeight/)
  })
})
