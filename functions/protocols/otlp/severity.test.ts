import { describe, expect, it } from 'vitest'
import { levelOf } from './severity.js'

describe('levelOf', () => {
  it('reads the severity number by its range, TRACE as debug', () => {
    expect([1, 4, 5, 8, 9, 12, 13, 16, 17, 20, 21, 24].map((n) => levelOf(n, 'ignored'))).toEqual([
      'debug',
      'debug',
      'debug',
      'debug',
      'info',
      'info',
      'warn',
      'warn',
      'error',
      'error',
      'fatal',
      'fatal',
    ])
  })

  it('reads the text when the number is unset or out of range, and gives nothing for an unknown one', () => {
    expect(levelOf(0, 'WARNING')).toBe('warn')
    expect(levelOf(0, ' Err ')).toBe('error')
    expect(levelOf(25, 'INFO2')).toBe('info')
    expect(levelOf(0, 'critical')).toBe('fatal')
    expect(levelOf(0, 'constructor')).toBeUndefined()
    expect(levelOf(-3, '')).toBeUndefined()
  })
})
