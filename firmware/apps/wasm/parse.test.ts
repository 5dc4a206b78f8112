import { readFileSync } from 'node:fs'
import { beforeAll, describe, expect, it } from 'vitest'
import { kernelPath } from '../../../kernels/node.js'
import { functionType, parseModule, WasmFormatError } from './parse.js'
import {
  code,
  custom,
  dataCount,
  exports,
  functions,
  memory,
  minimalApp,
  module,
  op,
  section,
  T,
  types,
  u32,
} from './testing/assemble.js'
import { buildFixture } from './testing/fixtures.js'

/** The parser's error for some bytes (and a check that it is a WasmFormatError inside the module). */
function reason(bytes: Uint8Array): string {
  try {
    parseModule(bytes)
  } catch (e) {
    expect(e).toBeInstanceOf(WasmFormatError)
    const { offset } = e as WasmFormatError
    expect(offset).toBeGreaterThanOrEqual(0)
    expect(offset).toBeLessThanOrEqual(bytes.length)
    return (e as Error).message
  }
  throw new Error('parsed')
}

/** A module whose one function (type () -> ()) has this code (with the final end). */
const withCode = (body: number[], extra: { locals?: [number, number][] } = {}) =>
  module(types([[], []]), functions(0), memory(1), code({ code: body, ...extra }))

let counter: Uint8Array
beforeAll(async () => {
  counter = await buildFixture('counter')
})

describe('parseModule describes a module', () => {
  it('an AssemblyScript app: imports with their types, exports, no memory of its own, no start', () => {
    const m = parseModule(counter)
    const byName = Object.fromEntries(m.imports.map((i) => [`${i.module}.${i.name}`, i]))
    expect(byName['env.memory']).toMatchObject({
      kind: 'memory',
      limits: { min: 1, max: null, shared: false },
    })
    const read = byName['edgewatch.sensor_read']!
    expect(read.kind).toBe('func')
    if (read.kind === 'func') expect(m.types[read.type]).toEqual({ params: ['i32'], results: ['f64'] })
    expect(m.exports.map((e) => e.name).sort()).toEqual(['_initialize', 'init', 'memory', 'tick'])
    const tick = m.exports.find((e) => e.name === 'tick')!
    expect(tick.kind).toBe('func')
    expect(functionType(m, tick.index)).toEqual({ params: [], results: ['i32'] })
    expect(m.memories).toEqual([])
    expect(m.start).toBeNull()
    expect(m.bodies.length).toBe(m.functions.length)
    expect(m.imported.functions).toBe(7)
  })

  it('the kernel: its own memory, its globals, every body decoded', () => {
    const m = parseModule(readFileSync(kernelPath()))
    expect(m.imports).toEqual([])
    // The pages kernels/asconfig.json gives it (fixed: initial = maximum).
    const { options } = JSON.parse(
      readFileSync(new URL('../../../kernels/asconfig.json', import.meta.url), 'utf8'),
    )
    expect(m.memories).toEqual([{ min: options.initialMemory, max: options.maximumMemory, shared: false }])
    expect(options.initialMemory).toBe(options.maximumMemory)
    expect(m.exports.find((e) => e.name === 'process')).toMatchObject({ kind: 'func' })
    expect(m.bodies.length).toBeGreaterThan(5)
  })

  it('a start section, custom sections and the data count', () => {
    const m = parseModule(
      module(
        custom('first', [1, 2, 3]),
        types([[], []]),
        functions(0),
        memory(1),
        section(8, u32(0)),
        dataCount(0),
        code({ code: [op.end] }),
        custom('name', []),
      ),
    )
    expect(m.start).toBe(0)
    expect(m.customs.map((c) => c.name)).toEqual(['first', 'name'])
    expect(m.dataCount).toBe(0)
    expect(m.sections.map((s) => s.id)).toEqual([0, 1, 3, 5, 8, 12, 10, 0])
  })
})

describe('parseModule refuses with a precise reason', () => {
  const header = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]
  const cases: [string, Uint8Array, string][] = [
    ['no bytes', new Uint8Array(0), 'not a WebAssembly module (no \\0asm magic)'],
    [
      'a PNG',
      Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      'not a WebAssembly module (no \\0asm magic)',
    ],
    ['the magic alone', Uint8Array.from(header.slice(0, 4)), 'truncated module at byte 4'],
    [
      'version 2',
      Uint8Array.from([...header.slice(0, 4), 2, 0, 0, 0]),
      'unsupported binary version 2 at byte 4 (only version 1)',
    ],
    [
      'a component',
      Uint8Array.from([...header.slice(0, 4), 0x0d, 0x00, 0x01, 0x00]),
      'a WebAssembly component, not a core module',
    ],
    ['section id 14', Uint8Array.from([...header, 14, 0]), 'unknown section id 14 at byte 8'],
    [
      'a section longer than the module',
      Uint8Array.from([...header, 1, 100, 0]),
      'truncated section 1 at byte 8',
    ],
    [
      'a 6-byte section size',
      Uint8Array.from([...header, 1, 0x80, 0x80, 0x80, 0x80, 0x80, 0]),
      'LEB128 too long at byte 9',
    ],
    [
      'a section ending inside its content',
      module(section(1, [1, 0x60, 0, 0x80])),
      'truncated section 1 at byte 13',
    ],
    [
      'bytes left over in a section',
      module(section(1, [0, 0])),
      'section 1 (type) has 1 bytes left over at byte 11',
    ],
    [
      'sections out of order',
      module(types([[], []]), memory(1), functions(0)),
      'section 3 (function) at byte 19 is out of order',
    ],
    ['a section twice', module(types(), types()), 'section 1 (type) appears twice, at byte 11'],
    [
      'a count of 2^31 types in 10 bytes',
      module(section(1, [0x80, 0x80, 0x80, 0x80, 0x08, 0, 0, 0, 0, 0])),
      'type count 2147483648 is more than the 5 bytes left in section 1 can hold',
    ],
    [
      'a function type index that does not exist',
      module(types(), functions(3)),
      'type index 3 at byte 14 does not exist',
    ],
    [
      'functions without code',
      module(types([[], []]), functions(0)),
      '1 functions are declared but there is no code section',
    ],
    [
      'more bodies than functions',
      module(types([[], []]), functions(0), code({ code: [op.end] }, { code: [op.end] })),
      'the code section has 2 function bodies, the function section declares 1',
    ],
    [
      'the tag section',
      module(section(13, [0])),
      'section 13 (tag) at byte 8: exception handling is not supported',
    ],
    [
      'a GC struct type',
      module(section(1, [1, 0x5f, 0, 0])),
      'type form 0x5f at byte 11: garbage collection is not supported',
    ],
    [
      'a 64-bit memory',
      module(section(5, [1, 0x04, 1])),
      'memory limits at byte 11: 64-bit memories are not supported',
    ],
    [
      'two memories',
      module(section(5, [2, 0, 1, 0, 1])),
      'more than one memory (multi-memory is not supported) in section 5 at byte 8',
    ],
    ['a memory above 4 GiB', module(memory(65537)), 'memory limits at byte 11 are above 65536 pages'],
    [
      'a maximum below the minimum',
      module(memory(2, 1)),
      'memory limits at byte 11: the maximum 1 is below the minimum 2',
    ],
    [
      'an export name used twice',
      module(memory(1), exports(['m', 'memory', 0], ['m', 'memory', 0])),
      'export name "m" at byte 20 is used twice',
    ],
    [
      'an export of a missing function',
      module(exports(['f', 'func', 0])),
      'export "f" at byte 14: func 0 does not exist',
    ],
    [
      'a start function that does not exist',
      module(section(8, u32(2))),
      'start function 2 at byte 10 does not exist',
    ],
    [
      'an import name that is not UTF-8',
      module(section(2, [1, 1, 0xff, 1, 0x61, 0x02, 0, 1])),
      'name at byte 11 is not valid UTF-8',
    ],
    ['an unknown opcode', withCode([0xc5, op.end]), 'unknown opcode 0xc5 at byte 28'],
    [
      'try (exception handling)',
      withCode([0x06, op.void, op.end, op.end]),
      'opcode 0x06 at byte 28: exception handling is not supported',
    ],
    [
      'an atomic (threads)',
      withCode([0xfe, 0x03, 0x00, op.end]),
      'opcode 0xfe at byte 28: threads and atomics are not supported',
    ],
    [
      'relaxed SIMD',
      withCode([0xfd, 0x80, 0x02, op.end]),
      'opcode 0xfd 256 at byte 28: relaxed SIMD is not supported (its results differ between hosts)',
    ],
    ['an unassigned SIMD opcode', withCode([0xfd, 0x9a, 0x01, op.end]), 'unknown opcode 0xfd 154 at byte 28'],
    ['an unknown 0xfc opcode', withCode([0xfc, 18, op.end]), 'unknown opcode 0xfc 18 at byte 28'],
    [
      'a branch out of the function',
      withCode([op.br, 1, op.end]),
      'branch depth 1 at byte 29 is outside its function',
    ],
    [
      'else without if',
      withCode([op.block, op.void, op.else, op.end, op.end]),
      'else without its if at byte 30',
    ],
    ['a body that does not end', withCode([op.nop]), 'truncated function 0 at byte 29'],
    [
      'bytes after the last end',
      withCode([op.end, op.nop]),
      'function 0 has bytes after its last end at byte 29',
    ],
    [
      'a local that does not exist',
      withCode([op.local_get, 0, op.drop, op.end]),
      'local index 0 at byte 29 does not exist',
    ],
    [
      'a call to a missing function',
      withCode([op.call, 5, op.end]),
      'function index 5 at byte 29 does not exist',
    ],
    [
      'a block type that does not exist',
      withCode([op.block, 7, op.end, op.end]),
      'type index 7 at byte 29 does not exist',
    ],
    [
      'memory.init without a data count',
      withCode([0xfc, 8, 0, 0, op.end]),
      'data index at byte 30 needs a data count section',
    ],
    [
      'a memory instruction without a memory',
      module(
        types([[], []]),
        functions(0),
        code({ code: [op.i32_const, 0, op.i32_load, 2, 0, op.drop, op.end] }),
      ),
      'memory instruction at byte 25 without a memory',
    ],
    [
      'too many locals',
      withCode([op.end], {
        locals: [
          [40_000, T.i32],
          [20_000, T.i64],
        ],
      }),
      'function 0 declares more than 50000 locals at byte 32',
    ],
    [
      'a typed reference local',
      withCode([op.end], { locals: [[1, 0x63]] }),
      'value type 0x63 at byte 29: typed references and garbage collection are not supported',
    ],
    [
      'a data count that does not match',
      module(memory(1), dataCount(2), section(11, [1, 1, 0])),
      'the data count section says 2 data segments, the data section has 1',
    ],
    [
      'an i64 constant of 11 bytes',
      withCode([op.i64_const, ...Array(10).fill(0x80), 0, op.drop, op.end]),
      'LEB128 too long at byte 29',
    ],
  ]
  for (const [what, bytes, expected] of cases) {
    it(what, () => {
      expect(reason(bytes)).toBe(expected)
    })
  }

  it('a count of 2^32-1 imports in a 12-byte module fails at once', () => {
    const bytes = module(section(2, [0xff, 0xff, 0xff, 0xff, 0x0f]))
    const t0 = performance.now()
    expect(reason(bytes)).toBe('import count 4294967295 is more than the 0 bytes left in section 2 can hold')
    expect(performance.now() - t0).toBeLessThan(50)
  })

  it('a br_table of 2^32-1 labels in a short body fails at once', () => {
    const bytes = withCode([op.i32_const, 0, op.br_table, 0xff, 0xff, 0xff, 0xff, 0x0f, 0, op.end])
    expect(reason(bytes)).toBe(
      'br_table label count 4294967295 is more than the 2 bytes left in function 0 can hold',
    )
  })

  it('refuses a module that defines what an engine accepts only with later proposals', () => {
    // A table with an initial value (typed function references).
    expect(reason(module(section(4, [1, 0x40, 0x00, T.funcref, 0, 1])))).toBe(
      'table with an initial value at byte 11: typed references are not supported',
    )
    // An import of a tag (exception handling).
    expect(reason(module(section(2, [1, 1, 0x61, 1, 0x62, 0x04, 0, 0])))).toBe(
      'import of a tag at byte 15: exception handling is not supported',
    )
  })

  it('accepts an empty module and a minimal app', () => {
    expect(parseModule(module()).sections).toEqual([])
    expect(parseModule(minimalApp()).exports).toEqual([{ name: 'tick', kind: 'func', index: 0 }])
    expect(WebAssembly.validate(minimalApp())).toBe(true)
  })
})
