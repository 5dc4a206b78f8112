// A strict, bounded parser of the WebAssembly binary format (core module, version 1), by reading
// bytes only: it never calls WebAssembly.* (the server validates uploads under workerd and inside a
// Spin component, where there is no WebAssembly global). It reads every section, checks their order
// and sizes, decodes every instruction of every function body (so an opcode the device could not
// meter is refused at upload), and checks the indices they hold. It does not type-check the code;
// the engine that compiles the module on the device does.
//
// Bounds: every read is checked against the end of its region (a section, a body), every count
// against the bytes left, and the description grows with the bytes read, never with a declared count.
import { BodyReader, type CodeSpaces, readRefType, readValType, type ValType } from './code.js'
import { Reader, WasmFormatError } from './reader.js'

export type { ValType } from './code.js'
export { WasmFormatError } from './reader.js'

export interface FuncType {
  params: ValType[]
  results: ValType[]
}

export interface Limits {
  min: number
  max: number | null
  shared: boolean
}

export type ExternKind = 'func' | 'table' | 'memory' | 'global'

export type Import =
  | { module: string; name: string; kind: 'func'; type: number }
  | { module: string; name: string; kind: 'table'; refType: ValType; limits: Limits }
  | { module: string; name: string; kind: 'memory'; limits: Limits }
  | { module: string; name: string; kind: 'global'; valType: ValType; mutable: boolean }

export interface Export {
  name: string
  kind: ExternKind
  index: number
}

export interface Section {
  id: number
  /** Offset of the section's id byte. */
  start: number
  /** Offset of its payload (after the id and the size). */
  payload: number
  /** Offset of the byte after it. */
  end: number
}

export interface WasmModule {
  size: number
  /** Every section in order, custom sections included. */
  sections: Section[]
  types: FuncType[]
  imports: Import[]
  /** The type index of each function the module defines (imported functions come first in the index space). */
  functions: number[]
  tables: { refType: ValType; limits: Limits }[]
  /** The memories the module defines itself (not imported). */
  memories: Limits[]
  /** The globals the module defines (imported globals come first in the index space). */
  globals: { valType: ValType; mutable: boolean }[]
  exports: Export[]
  start: number | null
  elementSegments: number
  dataSegments: number
  dataCount: number | null
  /** Each defined function's body: [start, end) offsets in the module, the size prefix excluded. */
  bodies: { start: number; end: number }[]
  customs: { name: string; section: Section }[]
  imported: { functions: number; tables: number; memories: number; globals: number }
}

const SECTION_NAMES = [
  'custom',
  'type',
  'import',
  'function',
  'table',
  'memory',
  'global',
  'export',
  'start',
  'element',
  'code',
  'data',
  'data count',
  'tag',
]
/** The position each known section must keep (the binary format fixes their order; data count precedes code). */
export const SECTION_ORDER: Readonly<Record<number, number>> = {
  1: 1,
  2: 2,
  3: 3,
  4: 4,
  5: 5,
  13: 6,
  6: 7,
  7: 8,
  8: 9,
  9: 10,
  12: 11,
  10: 12,
  11: 13,
}
const KINDS: ExternKind[] = ['func', 'table', 'memory', 'global']

/** Reads a module's bytes; throws WasmFormatError with the reason and the byte at fault. */
export function parseModule(bytes: Uint8Array): WasmModule {
  const top = new Reader(bytes, 0, bytes.length, 'module')
  if (bytes.length < 8) {
    if (!startsWith(bytes, MAGIC)) top.fail('not a WebAssembly module (no \\0asm magic)', 0)
    top.truncated(Math.min(bytes.length, 4))
  }
  if (!startsWith(bytes, MAGIC)) top.fail('not a WebAssembly module (no \\0asm magic)', 0)
  if (!startsWith(bytes.subarray(4), VERSION)) {
    const layer = bytes[6]! | (bytes[7]! << 8)
    top.fail(
      layer === 1
        ? 'a WebAssembly component, not a core module'
        : `unsupported binary version ${bytes[4]! | (bytes[5]! << 8)} at byte 4 (only version 1)`,
      4,
    )
  }
  top.pos = 8
  const m: WasmModule = {
    size: bytes.length,
    sections: [],
    types: [],
    imports: [],
    functions: [],
    tables: [],
    memories: [],
    globals: [],
    exports: [],
    start: null,
    elementSegments: 0,
    dataSegments: 0,
    dataCount: null,
    bodies: [],
    customs: [],
    imported: { functions: 0, tables: 0, memories: 0, globals: 0 },
  }
  let last = 0
  let sawCode = false
  while (top.pos < bytes.length) {
    const start = top.pos
    const id = top.u8()
    if (id > 13) top.fail(`unknown section id ${id} at byte ${start}`, start)
    const sizeAt = top.pos
    const size = top.u32()
    if (size > top.left) top.fail(`truncated section ${id} at byte ${start}`, sizeAt)
    const section: Section = { id, start, payload: top.pos, end: top.pos + size }
    top.pos = section.end
    m.sections.push(section)
    const r = new Reader(bytes, section.payload, section.end, `section ${id}`)
    if (id === 0) {
      m.customs.push({ name: r.name(), section })
      continue
    }
    const rank = SECTION_ORDER[id]!
    if (rank <= last)
      r.fail(
        rank === last
          ? `section ${id} (${SECTION_NAMES[id]}) appears twice, at byte ${start}`
          : `section ${id} (${SECTION_NAMES[id]}) at byte ${start} is out of order`,
        start,
      )
    last = rank
    switch (id) {
      case 1:
        readTypes(r, m)
        break
      case 2:
        readImports(r, m)
        break
      case 3:
        for (let i = 0, n = r.count('function'); i < n; i++) m.functions.push(typeIndex(r, m))
        break
      case 4:
        for (let i = 0, n = r.count('table', 3); i < n; i++)
          m.tables.push({ refType: tableType(r), limits: limits(r, 'table') })
        break
      case 5:
        for (let i = 0, n = r.count('memory', 2); i < n; i++) m.memories.push(limits(r, 'memory'))
        if (m.memories.length + m.imported.memories > 1)
          r.fail(`more than one memory (multi-memory is not supported) in section 5 at byte ${start}`, start)
        break
      case 13:
        r.fail(`section 13 (tag) at byte ${start}: exception handling is not supported`, start)
        break
      case 6:
        for (let i = 0, n = r.count('global', 3); i < n; i++) {
          const g = globalType(r)
          constExpr(r, spaces(m))
          m.globals.push(g)
        }
        break
      case 7:
        readExports(r, m)
        break
      case 8: {
        const at = r.pos
        m.start = r.u32()
        if (m.start >= m.imported.functions + m.functions.length)
          r.fail(`start function ${m.start} at byte ${at} does not exist`, at)
        break
      }
      case 9:
        readElements(r, m)
        break
      case 12:
        m.dataCount = r.u32()
        break
      case 10:
        sawCode = true
        readCode(r, m)
        break
      case 11:
        readData(r, m)
        break
    }
    if (r.pos !== r.end)
      r.fail(`section ${id} (${SECTION_NAMES[id]}) has ${r.left} bytes left over at byte ${r.pos}`)
  }
  if (!sawCode && m.functions.length > 0)
    top.fail(`${m.functions.length} functions are declared but there is no code section`, bytes.length)
  if (m.dataCount !== null && m.dataCount !== m.dataSegments)
    top.fail(
      `the data count section says ${m.dataCount} data segments, the data section has ${m.dataSegments}`,
      bytes.length,
    )
  return m
}

const MAGIC = [0x00, 0x61, 0x73, 0x6d]
const VERSION = [0x01, 0x00, 0x00, 0x00]

function startsWith(bytes: Uint8Array, prefix: number[]): boolean {
  return prefix.every((b, i) => bytes[i] === b)
}

/** The index spaces as known so far (a section only refers to what the ones before it declared). */
function spaces(m: WasmModule): CodeSpaces {
  return {
    types: m.types.length,
    functions: m.imported.functions + m.functions.length,
    tables: m.imported.tables + m.tables.length,
    memories: m.imported.memories + m.memories.length,
    globals: m.imported.globals + m.globals.length,
    elements: m.elementSegments,
    dataCount: m.dataCount,
  }
}

function readTypes(r: Reader, m: WasmModule): void {
  for (let i = 0, n = r.count('type', 3); i < n; i++) {
    const at = r.pos
    const form = r.u8()
    if (form !== 0x60) {
      if (form === 0x4e || form === 0x4f || form === 0x50 || form === 0x5e || form === 0x5f)
        r.fail(`type form 0x${form.toString(16)} at byte ${at}: garbage collection is not supported`, at)
      r.fail(`unknown type form 0x${form.toString(16)} at byte ${at} (expected 0x60, a function type)`, at)
    }
    const params: ValType[] = []
    for (let j = 0, p = r.count('parameter'); j < p; j++) params.push(readValType(r))
    const results: ValType[] = []
    for (let j = 0, p = r.count('result'); j < p; j++) results.push(readValType(r))
    m.types.push({ params, results })
  }
}

function readImports(r: Reader, m: WasmModule): void {
  for (let i = 0, n = r.count('import', 4); i < n; i++) {
    const module = r.name()
    const name = r.name()
    const at = r.pos
    const kind = r.u8()
    switch (kind) {
      case 0x00:
        m.imports.push({ module, name, kind: 'func', type: typeIndex(r, m) })
        m.imported.functions++
        break
      case 0x01:
        m.imports.push({ module, name, kind: 'table', refType: tableType(r), limits: limits(r, 'table') })
        m.imported.tables++
        break
      case 0x02:
        m.imports.push({ module, name, kind: 'memory', limits: limits(r, 'memory') })
        if (++m.imported.memories > 1)
          r.fail(`more than one memory (multi-memory is not supported) at byte ${at}`, at)
        break
      case 0x03: {
        const g = globalType(r)
        m.imports.push({ module, name, kind: 'global', valType: g.valType, mutable: g.mutable })
        m.imported.globals++
        break
      }
      case 0x04:
        r.fail(`import of a tag at byte ${at}: exception handling is not supported`, at)
        break
      default:
        r.fail(`unknown import kind ${kind} at byte ${at}`, at)
    }
  }
}

function readExports(r: Reader, m: WasmModule): void {
  const names = new Set<string>()
  const s = spaces(m)
  const sizes = [s.functions, s.tables, s.memories, s.globals]
  for (let i = 0, n = r.count('export', 3); i < n; i++) {
    const at = r.pos
    const name = r.name()
    if (names.has(name)) r.fail(`export name ${JSON.stringify(name)} at byte ${at} is used twice`, at)
    names.add(name)
    const kindAt = r.pos
    const k = r.u8()
    const kind = KINDS[k]
    if (kind === undefined) r.fail(`unknown export kind ${k} at byte ${kindAt}`, kindAt)
    const indexAt = r.pos
    const index = r.u32()
    if (index >= sizes[k]!)
      r.fail(`export ${JSON.stringify(name)} at byte ${indexAt}: ${kind} ${index} does not exist`, indexAt)
    m.exports.push({ name, kind, index })
  }
}

function readElements(r: Reader, m: WasmModule): void {
  const s = spaces(m)
  for (let i = 0, n = r.count('element segment', 3); i < n; i++) {
    const at = r.pos
    const flags = r.u32()
    if (flags > 7) r.fail(`unknown element segment kind ${flags} at byte ${at}`, at)
    if (!(flags & 1)) {
      if (flags & 2) index(r, s.tables, 'table')
      else if (s.tables === 0) r.fail(`active element segment at byte ${at} without a table`, at)
      constExpr(r, s)
    }
    if (flags & 4) {
      if (flags & 3) readRefType(r)
      for (let j = 0, e = r.count('element'); j < e; j++) constExpr(r, s)
    } else {
      if (flags & 3) {
        const kindAt = r.pos
        if (r.u8() !== 0x00) r.fail(`unknown element kind at byte ${kindAt}`, kindAt)
      }
      for (let j = 0, e = r.count('element'); j < e; j++) index(r, s.functions, 'function')
    }
    m.elementSegments++
  }
}

function readData(r: Reader, m: WasmModule): void {
  const s = spaces(m)
  for (let i = 0, n = r.count('data segment', 2); i < n; i++) {
    const at = r.pos
    const flags = r.u32()
    if (flags > 2) r.fail(`unknown data segment kind ${flags} at byte ${at}`, at)
    if (flags === 2) index(r, s.memories, 'memory')
    if (flags !== 1) {
      if (s.memories === 0) r.fail(`active data segment at byte ${at} without a memory`, at)
      constExpr(r, s)
    }
    const len = r.u32()
    r.skip(len)
    m.dataSegments++
  }
}

function readCode(r: Reader, m: WasmModule): void {
  const at = r.pos
  const n = r.count('function body', 2)
  if (n !== m.functions.length)
    r.fail(
      `the code section has ${n} function bodies, the function section declares ${m.functions.length}`,
      at,
    )
  const s = spaces(m)
  for (let i = 0; i < n; i++) {
    const sizeAt = r.pos
    const size = r.u32()
    if (size > r.left) r.truncated(sizeAt)
    const start = r.pos
    const end = start + size
    const index = m.imported.functions + i
    const type = m.types[m.functions[i]!]!
    const body = new BodyReader(r.bytes, start, end, s, type.params.length, `function ${index}`)
    while (!body.done) body.next()
    m.bodies.push({ start, end })
    r.pos = end
  }
}

/** Constant expressions: the constants, global.get, ref.null, ref.func and the extended-const arithmetic, then end. */
function constExpr(r: Reader, s: CodeSpaces): void {
  for (let n = 0; ; n++) {
    const at = r.pos
    const op = r.u8()
    switch (op) {
      case 0x0b:
        if (n === 0) r.fail(`empty constant expression at byte ${at}`, at)
        return
      case 0x41:
        r.sleb(32)
        break
      case 0x42:
        r.sleb(64)
        break
      case 0x43:
        r.skip(4)
        break
      case 0x44:
        r.skip(8)
        break
      case 0x23:
        index(r, s.globals, 'global')
        break
      case 0xd0: {
        const t = r.u8()
        if (t !== 0x70 && t !== 0x6f) r.fail(`unsupported heap type at byte ${r.pos - 1}`, r.pos - 1)
        break
      }
      case 0xd2:
        index(r, s.functions, 'function')
        break
      case 0x6a:
      case 0x6b:
      case 0x6c:
      case 0x7c:
      case 0x7d:
      case 0x7e:
        break
      case 0xfd: {
        const subAt = r.pos
        if (r.u32() !== 12) r.fail(`instruction at byte ${at} is not allowed in a constant expression`, subAt)
        r.skip(16)
        break
      }
      default:
        r.fail(`instruction 0x${op.toString(16)} at byte ${at} is not allowed in a constant expression`, at)
    }
  }
}

function index(r: Reader, size: number, what: string): number {
  const at = r.pos
  const i = r.u32()
  if (i >= size) r.fail(`${what} index ${i} at byte ${at} does not exist`, at)
  return i
}

function typeIndex(r: Reader, m: WasmModule): number {
  return index(r, m.types.length, 'type')
}

function tableType(r: Reader): ValType {
  const at = r.pos
  if (r.bytes[r.pos] === 0x40 && r.pos < r.end)
    r.fail(`table with an initial value at byte ${at}: typed references are not supported`, at)
  return readRefType(r)
}

function globalType(r: Reader): { valType: ValType; mutable: boolean } {
  const valType = readValType(r)
  const at = r.pos
  const mut = r.u8()
  if (mut > 1) r.fail(`unknown global mutability ${mut} at byte ${at}`, at)
  return { valType, mutable: mut === 1 }
}

const MAX_PAGES = 65536

function limits(r: Reader, what: 'memory' | 'table'): Limits {
  const at = r.pos
  const flags = r.u8()
  if (flags & 4)
    r.fail(
      `${what} limits at byte ${at}: 64-bit ${what === 'memory' ? 'memories' : 'tables'} are not supported`,
      at,
    )
  if (flags > 3 || (what === 'table' && flags > 1))
    r.fail(`unknown ${what} limits flags 0x${flags.toString(16)} at byte ${at}`, at)
  if (flags === 2) r.fail(`a shared memory needs a maximum, at byte ${at}`, at)
  const min = r.u32()
  const max = flags & 1 ? r.u32() : null
  if (what === 'memory' && (min > MAX_PAGES || (max !== null && max > MAX_PAGES)))
    r.fail(`memory limits at byte ${at} are above ${MAX_PAGES} pages`, at)
  if (max !== null && max < min)
    r.fail(`${what} limits at byte ${at}: the maximum ${max} is below the minimum ${min}`, at)
  return { min, max, shared: (flags & 2) !== 0 }
}

/** The function type of function `index` (imported or defined). */
export function functionType(m: WasmModule, index: number): FuncType | undefined {
  if (index < m.imported.functions) {
    let seen = 0
    for (const imp of m.imports) {
      if (imp.kind !== 'func') continue
      if (seen++ === index) return m.types[imp.type]
    }
    return undefined
  }
  const t = m.functions[index - m.imported.functions]
  return t === undefined ? undefined : m.types[t]
}

/** Whether an error is the parser's (bytes that are not a module we accept). */
export function isWasmFormatError(e: unknown): e is WasmFormatError {
  return e instanceof WasmFormatError
}
