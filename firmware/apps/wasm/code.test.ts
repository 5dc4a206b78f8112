// The instruction decoder against the engine: for every opcode, with immediates of many shapes, the
// parser accepts the body exactly when V8 does (or refuses it as a proposal we do not support).
import { describe, expect, it } from 'vitest'
import { BodyReader } from './code.js'
import { parseModule } from './parse.js'
import {
  type Bytes,
  code,
  functions,
  globals,
  memory,
  module,
  op,
  section,
  T,
  table,
  types,
} from './testing/assemble.js'

/** A module with one of everything an immediate can name (index 0 of each space) around a body. */
function around(instruction: number[]): Bytes {
  return module(
    types([[], []], [[T.i32], [T.i32]]),
    functions(0),
    table(1),
    memory(1),
    globals({ type: T.i32, mutable: true, init: [op.i32_const, 0] }),
    section(9, [1, 0x01, 0x00, 1, 0]), // a passive element segment holding function 0
    section(12, [1]), // data count
    // In unreachable code every operand type checks; the second unreachable drops what it pushed.
    code({ locals: [[1, T.i32]], code: [op.unreachable, ...instruction, op.unreachable, op.end] }),
    section(11, [1, 0x01, 0x00]), // a passive, empty data segment
  )
}

const zeros = (n: number) => Array<number>(n).fill(0)
const SHAPES = [
  [],
  [0],
  [0, 0],
  [0, 0, 0],
  [0, 0, 0, 0],
  [1, T.i32],
  [0x40],
  [0x70],
  zeros(8),
  zeros(16),
  zeros(17),
]

function ours(bytes: Uint8Array): true | string {
  try {
    parseModule(bytes)
    return true
  } catch (e) {
    return (e as Error).message
  }
}

/** How many bytes the decoder reads for the instruction after the first unreachable of around()'s body. */
function decodedLength(bytes: Uint8Array): number {
  const m = parseModule(bytes)
  const { start, end } = m.bodies[0]!
  const br = new BodyReader(
    bytes,
    start,
    end,
    { types: 2, functions: 1, tables: 1, memories: 1, globals: 1, elements: 1, dataCount: 1 },
    0,
    'f',
  )
  br.next()
  br.next()
  return br.end - br.start
}

/**
 * Checks one opcode (its bytes, the prefix and sub-opcode included): when the decoder calls it unknown
 * the engine refuses it with immediates of every shape; when the decoder knows it, the engine accepts
 * it with the immediates the decoder reads (the first shape it reads whole). Returns a disagreement.
 */
function check(opcode: number[], refused: RegExp | undefined): string | undefined {
  const verdicts = SHAPES.map((shape) => ours(around([...opcode, ...shape])))
  const name = opcode.map((b) => '0x' + b.toString(16)).join(' ')
  if (refused) {
    const wrong = verdicts.find((v) => v === true || !refused.test(v))
    return wrong === undefined ? undefined : `${name}: ${wrong} (expected ${refused})`
  }
  const known = verdicts.some((v) => v === true || !/^unknown opcode/.test(v))
  if (!known) {
    const accepted = SHAPES.filter((shape) => WebAssembly.validate(around([...opcode, ...shape])))
    return accepted.length === 0
      ? undefined
      : `${name}: unknown to the decoder, the engine accepts it with ${JSON.stringify(accepted[0])}`
  }
  const shape = SHAPES.find((shape, i) => {
    if (verdicts[i] !== true) return false
    return decodedLength(around([...opcode, ...shape])) === opcode.length + shape.length
  })
  if (!shape) return `${name}: the decoder reads none of the shapes whole: ${verdicts.join(' | ')}`
  return WebAssembly.validate(around([...opcode, ...shape]))
    ? undefined
    : `${name}: the engine refuses it with ${JSON.stringify(shape)}`
}

const EXCEPTIONS = [0x06, 0x07, 0x08, 0x09, 0x0a, 0x18, 0x19, 0x1f]
const TYPED_REFERENCES = [0x14, 0x15, 0xd3, 0xd4, 0xd5, 0xd6, 0xfb]
const CONTROL = [0x02, 0x03, 0x04, 0x05, 0x0b]

describe('the decoder agrees with the engine on every opcode', () => {
  it('one-byte opcodes', () => {
    const disagreements: string[] = []
    for (let b = 0; b < 256; b++) {
      if (CONTROL.includes(b) || b === 0xfc || b === 0xfd) continue
      const refused = EXCEPTIONS.includes(b)
        ? /exception handling is not supported/
        : TYPED_REFERENCES.includes(b)
          ? /typed function references and garbage collection are not supported/
          : b === 0xfe
            ? /threads and atomics are not supported/
            : undefined
      const d = check([b], refused)
      if (d) disagreements.push(d)
    }
    expect(disagreements).toEqual([])
  })

  it('0xfc opcodes: saturating truncation, bulk memory and tables', () => {
    const disagreements: string[] = []
    for (let sub = 0; sub < 32; sub++) {
      const d = check([0xfc, sub], undefined)
      if (d) disagreements.push(d)
    }
    expect(disagreements).toEqual([])
  })

  it('0xfd opcodes: SIMD, with relaxed SIMD refused', () => {
    const disagreements: string[] = []
    for (let sub = 0; sub < 0x120; sub++) {
      const prefix = sub < 0x80 ? [0xfd, sub] : [0xfd, (sub & 0x7f) | 0x80, sub >> 7]
      const d = check(prefix, sub >= 0x100 && sub <= 0x113 ? /relaxed SIMD is not supported/ : undefined)
      if (d) disagreements.push(d)
    }
    expect(disagreements).toEqual([])
  })

  it('block types: empty, a value type, a type index (multi-value), and none other', () => {
    for (const bt of [[0x40], [T.i32], [T.v128], [1], [2], [0x70], [0x7a], [0x80, 0x00]]) {
      for (const opcode of [op.block, op.loop]) {
        const bytes = around([opcode, ...bt, op.unreachable, op.end])
        expect(ours(bytes) === true, `${opcode} ${bt}`).toBe(WebAssembly.validate(bytes))
      }
    }
  })
})
