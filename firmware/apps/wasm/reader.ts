// Bounded reading of WebAssembly bytes: LEB128 with length and overflow checks, names, counts.
// Pure byte manipulation (no WebAssembly global, no Node import): it runs on the server under workerd
// and in a Spin component too. Every read checks the end of the region it reads from first, so a
// reader never reads past its end and a count is checked against the bytes left before anything
// is allocated for it.

/** Why some bytes are not a module we accept; `offset` is the byte (from the start of the module) at fault. */
export class WasmFormatError extends Error {
  override name = 'WasmFormatError'
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message)
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/** Reads a region [pos, end) of a module; `where` names the region in errors ("section 2", "function 3"). */
export class Reader {
  pos: number

  constructor(
    readonly bytes: Uint8Array,
    start: number,
    readonly end: number,
    readonly where: string,
  ) {
    this.pos = start
  }

  get left(): number {
    return this.end - this.pos
  }

  fail(message: string, at: number = this.pos): never {
    throw new WasmFormatError(message, at)
  }

  /** The error for a read that would pass the end of the region, at the byte where it starts. */
  truncated(at: number = this.pos): never {
    this.fail(`truncated ${this.where} at byte ${at}`, at)
  }

  u8(): number {
    if (this.pos >= this.end) this.truncated()
    return this.bytes[this.pos++]!
  }

  skip(n: number): void {
    if (n > this.left) this.truncated()
    this.pos += n
  }

  /** An unsigned LEB128 of at most 32 bits (at most 5 bytes, the unused high bits of the 5th zero). */
  u32(): number {
    const at = this.pos
    let result = 0
    for (let i = 0; i < 5; i++) {
      if (this.pos >= this.end) this.truncated(at)
      const b = this.bytes[this.pos++]!
      if (i === 4) {
        if (b & 0x80) this.fail(`LEB128 too long at byte ${at}`, at)
        if (b & 0x70) this.fail(`LEB128 value above 32 bits at byte ${at}`, at)
      }
      result += (b & 0x7f) * 2 ** (7 * i)
      if (!(b & 0x80)) return result
    }
    return this.fail(`LEB128 too long at byte ${at}`, at)
  }

  /**
   * A signed LEB128 of `bits` bits (32, 33 or 64): at most ceil(bits / 7) bytes, the unused bits of
   * the last byte a copy of the sign. Returns the value for 32 and 33 bits; for 64 bits it checks the
   * encoding only and returns 0 (nothing here needs an i64's value, and a double cannot hold it).
   */
  sleb(bits: 32 | 33 | 64): number {
    const at = this.pos
    const max = Math.ceil(bits / 7)
    let result = 0
    for (let i = 0; i < max; i++) {
      if (this.pos >= this.end) this.truncated(at)
      const b = this.bytes[this.pos++]!
      if (i === max - 1) {
        if (b & 0x80) this.fail(`LEB128 too long at byte ${at}`, at)
        // The bits of the last byte above the value's width must all equal its sign bit.
        const used = bits - 7 * i
        const high = (0x7f >> (used - 1)) << (used - 1)
        if ((b & high) !== 0 && (b & high) !== high)
          this.fail(`LEB128 value above ${bits} bits at byte ${at}`, at)
      }
      if (bits !== 64) result += (b & 0x7f) * 2 ** (7 * i)
      if (!(b & 0x80)) {
        if (bits === 64) return 0
        return b & 0x40 ? result - 2 ** (7 * (i + 1)) : result
      }
    }
    return this.fail(`LEB128 too long at byte ${at}`, at)
  }

  /**
   * The count of a vector whose items take at least `minItemBytes` bytes each: fails at once when the
   * bytes left cannot hold that many items, so a huge count never allocates or loops.
   */
  count(what: string, minItemBytes = 1): number {
    const at = this.pos
    const n = this.u32()
    if (n * minItemBytes > this.left)
      this.fail(`${what} count ${n} is more than the ${this.left} bytes left in ${this.where} can hold`, at)
    return n
  }

  /** `n` bytes as a view (no copy). */
  take(n: number): Uint8Array {
    const start = this.pos
    this.skip(n)
    return this.bytes.subarray(start, start + n)
  }

  /** A name: a LEB128 byte length and that many bytes of valid UTF-8. */
  name(): string {
    const at = this.pos
    const n = this.u32()
    if (n > this.left) this.truncated(at)
    const raw = this.take(n)
    try {
      return utf8.decode(raw)
    } catch {
      return this.fail(`name at byte ${at} is not valid UTF-8`, at)
    }
  }
}

/** Appends the unsigned LEB128 encoding of n (0 <= n < 2^32) to out. */
export function pushU32(out: number[], n: number): void {
  do {
    let b = n & 0x7f
    n = Math.floor(n / 128)
    if (n !== 0) b |= 0x80
    out.push(b)
  } while (n !== 0)
}

/** Appends the signed LEB128 encoding of a 64-bit integer to out. */
export function pushS64(out: number[], n: bigint): void {
  for (;;) {
    const b = Number(n & 0x7fn)
    n >>= 7n
    if ((n === 0n && !(b & 0x40)) || (n === -1n && b & 0x40)) {
      out.push(b)
      return
    }
    out.push(b | 0x80)
  }
}
