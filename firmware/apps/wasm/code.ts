// Decoding function bodies one instruction at a time: the opcode, the length of its immediates, the
// control structure (blocks opened and closed, branch targets), and whether the index in an
// immediate exists. It does not type-check the operand stack: the engine that compiles the module
// does that. Both the parser (every body of an upload is decoded, so that an unknown opcode is
// refused at upload and not on the device) and the metering transform use it.
import { Reader } from './reader.js'

/** What an instruction does to control flow, as the metering transform needs to know it. */
export const Flow = {
  /** Runs and falls through to the next instruction. */
  plain: 0,
  block: 1,
  loop: 2,
  if: 3,
  else: 4,
  end: 5,
  br: 6,
  brIf: 7,
  brTable: 8,
  /** Never falls through: return, unreachable, return_call, return_call_indirect. */
  exit: 9,
} as const

/** The extra cost an instruction has in proportion to an operand (see meter.ts). */
export const Bulk = {
  none: 0,
  /** memory.copy, memory.fill, memory.init: the i32 byte count on top of the stack. */
  bytes: 1,
  /** memory.grow: the i32 page count on top of the stack. */
  pages: 2,
  /** table.copy, table.fill, table.init, table.grow: the i32 element count on top of the stack. */
  elements: 3,
} as const

/** The index spaces of a module, to check the indices in immediates. */
export interface CodeSpaces {
  types: number
  functions: number
  tables: number
  memories: number
  globals: number
  elements: number
  /** From the data count section; memory.init and data.drop need it (as the spec says). */
  dataCount: number | null
}

// Immediates of the one-byte opcodes.
const I_NONE = 1
const I_BLOCK = 2
const I_LABEL = 3
const I_BR_TABLE = 4
const I_FUNC = 5
const I_CALL_INDIRECT = 6
const I_LOCAL = 7
const I_GLOBAL = 8
const I_TABLE = 9
const I_MEMARG = 10
const I_MEMORY = 11
const I_I32 = 12
const I_I64 = 13
const I_F32 = 14
const I_F64 = 15
const I_REF_NULL = 16
const I_SELECT_T = 17
const I_PREFIX_FC = 18
const I_PREFIX_FD = 19

const IMMEDIATES = new Uint8Array(256)
for (const [from, to, kind] of [
  [0x00, 0x01, I_NONE], // unreachable, nop
  [0x02, 0x04, I_BLOCK], // block, loop, if
  [0x05, 0x05, I_NONE], // else
  [0x0b, 0x0b, I_NONE], // end
  [0x0c, 0x0d, I_LABEL], // br, br_if
  [0x0e, 0x0e, I_BR_TABLE],
  [0x0f, 0x0f, I_NONE], // return
  [0x10, 0x10, I_FUNC], // call
  [0x11, 0x11, I_CALL_INDIRECT],
  [0x12, 0x12, I_FUNC], // return_call
  [0x13, 0x13, I_CALL_INDIRECT], // return_call_indirect
  [0x1a, 0x1b, I_NONE], // drop, select
  [0x1c, 0x1c, I_SELECT_T],
  [0x20, 0x22, I_LOCAL],
  [0x23, 0x24, I_GLOBAL],
  [0x25, 0x26, I_TABLE], // table.get, table.set
  [0x28, 0x3e, I_MEMARG], // loads and stores
  [0x3f, 0x40, I_MEMORY], // memory.size, memory.grow
  [0x41, 0x41, I_I32],
  [0x42, 0x42, I_I64],
  [0x43, 0x43, I_F32],
  [0x44, 0x44, I_F64],
  [0x45, 0xc4, I_NONE], // numeric, including sign extension (0xc0..0xc4)
  [0xd0, 0xd0, I_REF_NULL],
  [0xd1, 0xd1, I_NONE], // ref.is_null
  [0xd2, 0xd2, I_FUNC], // ref.func
  [0xfc, 0xfc, I_PREFIX_FC],
  [0xfd, 0xfd, I_PREFIX_FD],
] as const) {
  IMMEDIATES.fill(kind, from, to + 1)
}

/** Opcodes of proposals we refuse, with the reason given. */
function unsupported(op: number): string | undefined {
  if ((op >= 0x06 && op <= 0x0a) || op === 0x18 || op === 0x19 || op === 0x1f)
    return 'exception handling is not supported'
  if (op === 0x14 || op === 0x15 || (op >= 0xd3 && op <= 0xd6) || op === 0xfb)
    return 'typed function references and garbage collection are not supported'
  if (op === 0xfe) return 'threads and atomics are not supported'
  return undefined
}

// SIMD (0xfd) sub-opcodes: 0 none, 1 memarg, 2 16 bytes, 3 lane byte, 4 memarg and lane byte.
const SIMD = new Uint8Array(256).fill(0)
SIMD.fill(1, 0x00, 0x0c) // v128.load..., v128.store
SIMD.fill(2, 0x0c, 0x0e) // v128.const, i8x16.shuffle
SIMD.fill(3, 0x15, 0x23) // extract_lane, replace_lane
SIMD.fill(4, 0x54, 0x5c) // v128.load*_lane, v128.store*_lane
SIMD.fill(1, 0x5c, 0x5e) // v128.load32_zero, v128.load64_zero
/** SIMD sub-opcodes below 0x100 that are not assigned. */
const SIMD_GAPS = new Set([
  0x9a, 0xa2, 0xa5, 0xa6, 0xaf, 0xb0, 0xb2, 0xb3, 0xb4, 0xbb, 0xc2, 0xc5, 0xc6, 0xcf, 0xd0, 0xd2, 0xd3, 0xd4,
  0xe2, 0xee,
])

const hex = (n: number) => '0x' + n.toString(16).padStart(2, '0')

/** One control frame: the construct's opcode (Flow.block/loop/if, or -1 for the function) and whether a branch targets its label. */
interface Frame {
  kind: number
  targeted: boolean
  hasElse: boolean
}

/**
 * Reads the instructions of one function body. Call `next()` until `done`; after each call `start`
 * and `end` delimit the instruction's bytes, `bulk` says whether it costs in proportion to an
 * operand, and after an `end` `closed` is the frame it closed.
 */
export class BodyReader {
  readonly r: Reader
  /** Offset of the first instruction (after the locals). */
  readonly codeStart: number
  /** The locals' declarations: their count of groups, and the total number of locals (params not included). */
  readonly localGroups: number
  readonly localCount: number
  /** Offset of the byte after the locals' group count (the groups follow). */
  readonly groupsStart: number
  start = 0
  end = 0
  op = 0
  bulk: number = Bulk.none
  /** The depth of a br or br_if; the depths of a br_table are in `depths`. */
  depth = 0
  /** The function a call, return_call or ref.func names. */
  func = 0
  readonly depths: number[] = []
  closed: Frame = { kind: -1, targeted: false, hasElse: false }
  done = false
  private readonly frames: Frame[] = [{ kind: -1, targeted: false, hasElse: false }]
  private readonly locals: number

  constructor(
    bytes: Uint8Array,
    bodyStart: number,
    bodyEnd: number,
    private readonly spaces: CodeSpaces,
    params: number,
    where: string,
  ) {
    const r = new Reader(bytes, bodyStart, bodyEnd, where)
    this.r = r
    this.localGroups = r.count('local group', 2)
    this.groupsStart = r.pos
    let count = 0
    for (let i = 0; i < this.localGroups; i++) {
      const at = r.pos
      count += r.u32()
      // V8's limit (the other engines' are higher); past it the sum could not be held exactly either.
      if (params + count > 50_000) r.fail(`${where} declares more than 50000 locals at byte ${at}`, at)
      readValType(r)
    }
    this.localCount = count
    this.locals = params + count
    this.codeStart = r.pos
  }

  /** The depth at which a branch targets the function itself (it returns). */
  get functionDepth(): number {
    return this.frames.length - 1
  }

  /** Reads one instruction and returns its Flow. */
  next(): number {
    const r = this.r
    if (this.done) r.fail(`${r.where} has bytes after its last end at byte ${r.pos}`)
    this.start = r.pos
    this.bulk = Bulk.none
    const op = r.u8()
    this.op = op
    let flow: number = Flow.plain
    switch (IMMEDIATES[op]) {
      case I_NONE:
        flow = this.control(op)
        break
      case I_BLOCK:
        this.blockType()
        this.frames.push({
          kind: op === 0x02 ? Flow.block : op === 0x03 ? Flow.loop : Flow.if,
          targeted: false,
          hasElse: false,
        })
        flow = op === 0x02 ? Flow.block : op === 0x03 ? Flow.loop : Flow.if
        break
      case I_LABEL:
        this.depth = this.label()
        flow = op === 0x0c ? Flow.br : Flow.brIf
        break
      case I_BR_TABLE: {
        const n = r.count('br_table label')
        this.depths.length = 0
        for (let i = 0; i <= n; i++) this.depths.push(this.label())
        flow = Flow.brTable
        break
      }
      case I_FUNC:
        this.func = this.index(this.spaces.functions, 'function')
        if (op === 0x12) flow = Flow.exit
        break
      case I_CALL_INDIRECT:
        this.index(this.spaces.types, 'type')
        this.index(this.spaces.tables, 'table')
        if (op === 0x13) flow = Flow.exit
        break
      case I_LOCAL:
        this.index(this.locals, 'local')
        break
      case I_GLOBAL:
        this.index(this.spaces.globals, 'global')
        break
      case I_TABLE:
        this.index(this.spaces.tables, 'table')
        break
      case I_MEMARG:
        this.memarg()
        break
      case I_MEMORY:
        this.index(this.spaces.memories, 'memory')
        if (op === 0x40) this.bulk = Bulk.pages
        break
      case I_I32:
        r.sleb(32)
        break
      case I_I64:
        r.sleb(64)
        break
      case I_F32:
        r.skip(4)
        break
      case I_F64:
        r.skip(8)
        break
      case I_REF_NULL:
        readHeapType(r)
        break
      case I_SELECT_T: {
        const at = r.pos
        if (r.u32() !== 1) r.fail(`select must name exactly one type at byte ${at}`, at)
        readValType(r)
        break
      }
      case I_PREFIX_FC:
        this.misc()
        break
      case I_PREFIX_FD:
        this.simd()
        break
      default: {
        const why = unsupported(op)
        r.fail(
          why
            ? `opcode ${hex(op)} at byte ${this.start}: ${why}`
            : `unknown opcode ${hex(op)} at byte ${this.start}`,
          this.start,
        )
      }
    }
    this.end = r.pos
    return flow
  }

  private control(op: number): number {
    const r = this.r
    switch (op) {
      case 0x00:
      case 0x0f:
        return Flow.exit
      case 0x05: {
        const top = this.frames[this.frames.length - 1]!
        if (top.kind !== Flow.if || top.hasElse)
          r.fail(`else without its if at byte ${this.start}`, this.start)
        top.hasElse = true
        return Flow.else
      }
      case 0x0b: {
        this.closed = this.frames.pop()!
        if (this.frames.length === 0) {
          this.done = true
          if (r.pos !== r.end) r.fail(`${r.where} has bytes after its last end at byte ${r.pos}`)
        }
        return Flow.end
      }
      default:
        return Flow.plain
    }
  }

  /** A branch's label depth; marks the frame it targets. */
  private label(): number {
    const at = this.r.pos
    const depth = this.r.u32()
    if (depth >= this.frames.length)
      this.r.fail(`branch depth ${depth} at byte ${at} is outside its function`, at)
    this.frames[this.frames.length - 1 - depth]!.targeted = true
    return depth
  }

  private index(size: number | null, what: string): number {
    const at = this.r.pos
    const i = this.r.u32()
    if (size === null) this.r.fail(`${what} index at byte ${at} needs a data count section`, at)
    if (i >= size) this.r.fail(`${what} index ${i} at byte ${at} does not exist`, at)
    return i
  }

  private blockType(): void {
    const r = this.r
    const b = r.bytes[r.pos]
    if (b === 0x40 || (b !== undefined && VALTYPES[b] !== undefined)) {
      r.pos++
      return
    }
    if (b === 0x63 || b === 0x64) readValType(r) // fails with the reason
    const at = r.pos
    const index = r.sleb(33)
    if (index < 0) r.fail(`unknown block type ${index} at byte ${at}`, at)
    if (index >= this.spaces.types) r.fail(`type index ${index} at byte ${at} does not exist`, at)
  }

  private memarg(): void {
    const r = this.r
    const at = r.pos
    const align = r.u32()
    // Bit 6 of the alignment says a memory index follows (multi-memory).
    if (align & 0x40) this.index(this.spaces.memories, 'memory')
    else if (this.spaces.memories === 0)
      r.fail(`memory instruction at byte ${this.start} without a memory`, this.start)
    const log2 = align & 0x40 ? align - 0x40 : align
    if (log2 >= 32) r.fail(`alignment 2^${log2} at byte ${at} is too large`, at)
    r.u32()
  }

  private misc(): void {
    const r = this.r
    const sub = r.u32()
    const s = this.spaces
    if (sub <= 7) return // iNN.trunc_sat_fMM_s/u
    switch (sub) {
      case 8: // memory.init data memory
        this.index(s.dataCount, 'data')
        this.index(s.memories, 'memory')
        this.bulk = Bulk.bytes
        return
      case 9: // data.drop
        this.index(s.dataCount, 'data')
        return
      case 10: // memory.copy
        this.index(s.memories, 'memory')
        this.index(s.memories, 'memory')
        this.bulk = Bulk.bytes
        return
      case 11: // memory.fill
        this.index(s.memories, 'memory')
        this.bulk = Bulk.bytes
        return
      case 12: // table.init elem table
        this.index(s.elements, 'element')
        this.index(s.tables, 'table')
        this.bulk = Bulk.elements
        return
      case 13: // elem.drop
        this.index(s.elements, 'element')
        return
      case 14: // table.copy
        this.index(s.tables, 'table')
        this.index(s.tables, 'table')
        this.bulk = Bulk.elements
        return
      case 15: // table.grow
      case 17: // table.fill
        this.index(s.tables, 'table')
        this.bulk = Bulk.elements
        return
      case 16: // table.size
        this.index(s.tables, 'table')
        return
      default:
        r.fail(`unknown opcode 0xfc ${sub} at byte ${this.start}`, this.start)
    }
  }

  private simd(): void {
    const r = this.r
    const sub = r.u32()
    if (sub >= 0x100 && sub <= 0x113)
      r.fail(
        `opcode 0xfd ${sub} at byte ${this.start}: relaxed SIMD is not supported (its results differ between hosts)`,
        this.start,
      )
    if (sub > 0xff || SIMD_GAPS.has(sub))
      r.fail(`unknown opcode 0xfd ${sub} at byte ${this.start}`, this.start)
    switch (SIMD[sub]) {
      case 1:
        this.memarg()
        return
      case 2:
        r.skip(16)
        return
      case 3:
        r.skip(1)
        return
      case 4:
        this.memarg()
        r.skip(1)
        return
    }
  }
}

/** Value types by their byte (the ones of the proposals we accept). */
export const VALTYPES: Record<number, ValType> = {
  127: 'i32',
  126: 'i64',
  125: 'f32',
  124: 'f64',
  123: 'v128',
  112: 'funcref',
  111: 'externref',
}
export type ValType = 'i32' | 'i64' | 'f32' | 'f64' | 'v128' | 'funcref' | 'externref'

export function readValType(r: Reader): ValType {
  const at = r.pos
  const b = r.u8()
  const t = VALTYPES[b]
  if (t) return t
  if (b === 0x63 || b === 0x64 || (b >= 0x65 && b <= 0x6e) || (b >= 0x71 && b <= 0x74))
    r.fail(
      `value type ${hex(b)} at byte ${at}: typed references and garbage collection are not supported`,
      at,
    )
  return r.fail(`unknown value type ${hex(b)} at byte ${at}`, at)
}

export function readRefType(r: Reader): ValType {
  const at = r.pos
  const t = readValType(r)
  if (t !== 'funcref' && t !== 'externref') r.fail(`${t} at byte ${at} is not a reference type`, at)
  return t
}

function readHeapType(r: Reader): void {
  const at = r.pos
  const b = r.u8()
  if (b !== 0x70 && b !== 0x6f)
    r.fail(`heap type ${hex(b)} at byte ${at}: typed references and garbage collection are not supported`, at)
}
