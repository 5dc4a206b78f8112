import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { compareText, createMemoryStore } from './memory.js'
import { storeContract } from './store-contract.js'
import { utf8Compare } from './store-fixtures.js'

storeContract('memory', async () => createMemoryStore())

describe('compareText', () => {
  it('orders strings like SQLite compares UTF-8 bytes', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (a, b) => {
        expect(Math.sign(compareText(a, b))).toBe(Math.sign(utf8Compare(a, b)))
      }),
      { numRuns: 2000 },
    )
    expect(compareText('\uffff', '😀')).toBeLessThan(0)
  })
})
