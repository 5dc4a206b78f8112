import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { pushS64, pushU32, Reader, WasmFormatError } from './reader.js'

const reader = (bytes: number[]) => new Reader(Uint8Array.from(bytes), 0, bytes.length, 'test')
const error = (fn: () => unknown) => {
  try {
    fn()
  } catch (e) {
    expect(e).toBeInstanceOf(WasmFormatError)
    return (e as WasmFormatError).message
  }
  throw new Error('did not throw')
}

describe('LEB128', () => {
  it('reads unsigned 32-bit values, non-minimal encodings included', () => {
    expect(reader([0x00]).u32()).toBe(0)
    expect(reader([0x7f]).u32()).toBe(127)
    expect(reader([0x80, 0x01]).u32()).toBe(128)
    expect(reader([0xff, 0xff, 0xff, 0xff, 0x0f]).u32()).toBe(2 ** 32 - 1)
    expect(reader([0x80, 0x80, 0x80, 0x80, 0x00]).u32()).toBe(0)
  })

  it('refuses a sixth byte, bits above 32 and a value cut short, naming the byte', () => {
    expect(error(() => reader([0x80, 0x80, 0x80, 0x80, 0x80, 0x00]).u32())).toBe('LEB128 too long at byte 0')
    expect(error(() => reader([0xff, 0xff, 0xff, 0xff, 0x1f]).u32())).toBe(
      'LEB128 value above 32 bits at byte 0',
    )
    expect(error(() => reader([0x80, 0x80]).u32())).toBe('truncated test at byte 0')
    const r = reader([0x01, 0x80])
    r.u32()
    expect(error(() => r.u32())).toBe('truncated test at byte 1')
  })

  it('reads signed values of 32 and 33 bits and checks the sign bits of the last byte', () => {
    expect(reader([0x7f]).sleb(32)).toBe(-1)
    expect(reader([0x80, 0x7f]).sleb(32)).toBe(-128)
    expect(reader([0xff, 0xff, 0xff, 0xff, 0x07]).sleb(32)).toBe(2 ** 31 - 1)
    expect(reader([0x80, 0x80, 0x80, 0x80, 0x78]).sleb(32)).toBe(-(2 ** 31))
    expect(error(() => reader([0xff, 0xff, 0xff, 0xff, 0x0f]).sleb(32))).toBe(
      'LEB128 value above 32 bits at byte 0',
    )
    expect(error(() => reader([0x80, 0x80, 0x80, 0x80, 0x70]).sleb(32))).toBe(
      'LEB128 value above 32 bits at byte 0',
    )
    expect(reader([0xff, 0xff, 0xff, 0xff, 0x0f]).sleb(33)).toBe(2 ** 32 - 1)
    expect(error(() => reader([0xff, 0xff, 0xff, 0xff, 0x1f]).sleb(33))).toBe(
      'LEB128 value above 33 bits at byte 0',
    )
  })

  it('round-trips every u32 and every i64 through the writers', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), (n) => {
        const out: number[] = []
        pushU32(out, n)
        const r = reader(out)
        expect(r.u32()).toBe(n)
        expect(r.left).toBe(0)
      }),
    )
    fc.assert(
      fc.property(fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }), (n) => {
        const out: number[] = []
        pushS64(out, n)
        expect(out.length).toBeLessThanOrEqual(10)
        const r = reader(out)
        r.sleb(64)
        expect(r.left).toBe(0)
        if (n >= -(2n ** 31n) && n < 2n ** 31n) expect(reader(out).sleb(32)).toBe(Number(n))
      }),
    )
  })

  it('refuses an 11-byte i64 and a 10th byte with stray bits', () => {
    expect(error(() => reader([...Array(10).fill(0x80), 0x00]).sleb(64))).toBe('LEB128 too long at byte 0')
    expect(error(() => reader([...Array(9).fill(0x80), 0x02]).sleb(64))).toBe(
      'LEB128 value above 64 bits at byte 0',
    )
    expect(() => reader([...Array(9).fill(0xff), 0x7f]).sleb(64)).not.toThrow()
  })
})

describe('counts and names', () => {
  it('fails at once on a count the bytes left cannot hold, before allocating anything', () => {
    const r = reader([0x80, 0x80, 0x80, 0x80, 0x08, 1, 2, 3, 4, 5])
    expect(error(() => r.count('type', 3))).toBe(
      'type count 2147483648 is more than the 5 bytes left in test can hold',
    )
  })

  it('reads UTF-8 names and refuses invalid UTF-8 and names longer than the region', () => {
    expect(reader([3, 0x61, 0xc3, 0xa9]).name()).toBe('aé')
    expect(error(() => reader([2, 0xc3, 0x28]).name())).toBe('name at byte 0 is not valid UTF-8')
    expect(error(() => reader([9, 0x61]).name())).toBe('truncated test at byte 0')
  })
})
