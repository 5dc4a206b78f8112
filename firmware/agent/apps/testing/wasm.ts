// Hand-assembled app modules for tests: a few dozen bytes each, built here so the tests need no
// compiler. `app()` makes an ABI v1 app (env.memory plus the edgewatch imports it names); the
// functions at the end are the apps the runtime tests use: well-behaved, endless loop, memory hog,
// trapping, forbidden import, huge, and one that does a fixed amount of work per tick.

type Val = 'i32' | 'i64' | 'f64'
const VAL: Record<Val, number> = { i32: 0x7f, i64: 0x7e, f64: 0x7c }

export function u32(n: number): number[] {
  const out: number[] = []
  do {
    let b = n & 0x7f
    n = Math.floor(n / 128)
    if (n > 0) b |= 0x80
    out.push(b)
  } while (n > 0)
  return out
}

export function s64(value: bigint | number): number[] {
  let n = BigInt(value)
  const out: number[] = []
  for (;;) {
    const b = Number(n & 0x7fn)
    n >>= 7n
    if ((n === 0n && (b & 0x40) === 0) || (n === -1n && (b & 0x40) !== 0)) {
      out.push(b)
      return out
    }
    out.push(b | 0x80)
  }
}

const f64 = (x: number) => [...new Uint8Array(new Float64Array([x]).buffer)]
const name = (s: string) => {
  const bytes = [...new TextEncoder().encode(s)]
  return [...u32(bytes.length), ...bytes]
}
const vec = (items: number[][]) => [...u32(items.length), ...items.flat()]
const section = (id: number, payload: number[]) =>
  payload.length === 0 ? [] : [id, ...u32(payload.length), ...payload]

/** Instructions, as bytes. */
export const op = {
  unreachable: [0x00],
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  if: [0x04, 0x40],
  else: [0x05],
  end: [0x0b],
  br: (l: number) => [0x0c, ...u32(l)],
  brIf: (l: number) => [0x0d, ...u32(l)],
  return: [0x0f],
  call: (f: number) => [0x10, ...u32(f)],
  drop: [0x1a],
  localGet: (i: number) => [0x20, ...u32(i)],
  localSet: (i: number) => [0x21, ...u32(i)],
  localTee: (i: number) => [0x22, ...u32(i)],
  globalGet: (i: number) => [0x23, ...u32(i)],
  globalSet: (i: number) => [0x24, ...u32(i)],
  i32Store8: [0x3a, 0x00, 0x00],
  memoryGrow: [0x40, 0x00],
  i32: (n: number) => [0x41, ...s64(n)],
  i64: (n: bigint | number) => [0x42, ...s64(n)],
  f64: (x: number) => [0x44, ...f64(x)],
  i32Eqz: [0x45],
  i32LtS: [0x48],
  i32GtS: [0x4a],
  i32Add: [0x6a],
  i32Sub: [0x6b],
  i32Shl: [0x74],
  f64Add: [0xa0],
}

export interface Func {
  export?: string
  params?: Val[]
  results?: Val[]
  locals?: Val[]
  body: number[]
}

export interface ModuleSpec {
  /** Function imports, `module.name` with their types; they take the first function indexes, in order. */
  funcImports?: Array<{ module: string; name: string; params: Val[]; results: Val[] }>
  /** The memory import (env.memory); null: none (the module defines `ownMemory` pages instead, if set). */
  memory?: { min: number; max?: number } | null
  ownMemory?: number
  globals?: Array<{ type: Val; init: number[] }>
  funcs: Func[]
  data?: Array<{ offset: number; bytes: Uint8Array | number[] }>
}

export function wasmModule(spec: ModuleSpec): Uint8Array {
  const types: string[] = []
  const typeIndex = (params: Val[], results: Val[]) => {
    const key = `${params.join()}>${results.join()}`
    let i = types.indexOf(key)
    if (i < 0) i = types.push(key) - 1
    return i
  }
  const funcImports = spec.funcImports ?? []
  const importTypes = funcImports.map((f) => typeIndex(f.params, f.results))
  const funcTypes = spec.funcs.map((f) => typeIndex(f.params ?? [], f.results ?? []))
  const typeSection = vec(
    types.map((key) => {
      const [params, results] = key.split('>').map((s) => (s ? (s.split(',') as Val[]) : []))
      return [0x60, ...vec(params!.map((v) => [VAL[v]])), ...vec(results!.map((v) => [VAL[v]]))]
    }),
  )
  const imports: number[][] = []
  const memory = spec.memory === undefined ? { min: 1 } : spec.memory
  if (memory) {
    const limits =
      memory.max === undefined ? [0x00, ...u32(memory.min)] : [0x01, ...u32(memory.min), ...u32(memory.max)]
    imports.push([...name('env'), ...name('memory'), 0x02, ...limits])
  }
  funcImports.forEach((f, i) => {
    imports.push([...name(f.module), ...name(f.name), 0x00, ...u32(importTypes[i]!)])
  })
  const exports: number[][] = []
  spec.funcs.forEach((f, i) => {
    if (f.export) exports.push([...name(f.export), 0x00, ...u32(funcImports.length + i)])
  })
  const code = spec.funcs.map((f) => {
    const locals = vec((f.locals ?? []).map((v) => [1, VAL[v]]))
    const body = [...locals, ...f.body, 0x0b]
    return [...u32(body.length), ...body]
  })
  const globals = (spec.globals ?? []).map((g) => [VAL[g.type], 0x01, ...g.init, 0x0b])
  const data = (spec.data ?? []).map((d) => [
    0x00,
    ...op.i32(d.offset),
    0x0b,
    ...u32(d.bytes.length),
    ...d.bytes,
  ])
  return Uint8Array.from([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, typeSection),
    ...section(2, imports.length ? vec(imports) : []),
    ...section(3, vec(funcTypes.map((t) => u32(t)))),
    ...section(5, spec.ownMemory ? vec([[0x00, ...u32(spec.ownMemory)]]) : []),
    ...section(6, globals.length ? vec(globals) : []),
    ...section(7, vec(exports)),
    ...section(10, vec(code)),
    ...section(11, data.length ? vec(data) : []),
  ])
}

// ---- ABI v1 apps ----------------------------------------------------------------------------------

const EDGEWATCH: Record<string, { params: Val[]; results: Val[] }> = {
  now_ms: { params: [], results: ['f64'] },
  sensor_count: { params: [], results: ['i32'] },
  sensor_read: { params: ['i32'], results: ['f64'] },
  sensor_name: { params: ['i32', 'i32', 'i32'], results: ['i32'] },
  emit: { params: ['i32', 'i32', 'f64'], results: [] },
  log: { params: ['i32', 'i32', 'i32'], results: [] },
}

export interface AppSpec {
  /** edgewatch imports, by name; `abort` adds env.abort. Function index i is the i-th of this list. */
  imports?: string[]
  memory?: { min: number; max?: number }
  globals?: Array<{ type: Val; init: number[] }>
  init?: number[]
  tick: number[]
  tickLocals?: Val[]
  /** Strings placed in memory: their offsets, in order, in the answer's `at`. */
  strings?: string[]
  data?: Array<{ offset: number; bytes: Uint8Array | number[] }>
}

/** Offsets of `strings` start here (UTF-8, one after the other). */
const STRINGS_AT = 1024

export function app(spec: AppSpec): Uint8Array {
  const funcImports = (spec.imports ?? []).map((n) =>
    n === 'abort'
      ? { module: 'env', name: 'abort', params: ['i32', 'i32', 'i32', 'i32'] as Val[], results: [] as Val[] }
      : { module: 'edgewatch', name: n, ...EDGEWATCH[n]! },
  )
  const funcs: Func[] = []
  if (spec.init) funcs.push({ export: 'init', results: ['i32'], body: spec.init })
  funcs.push({ export: 'tick', results: ['i32'], locals: spec.tickLocals ?? [], body: spec.tick })
  const strings = stringsOf(spec.strings ?? [])
  return wasmModule({
    funcImports,
    memory: spec.memory ?? { min: 1 },
    ...(spec.globals ? { globals: spec.globals } : {}),
    funcs,
    data: [
      ...(strings.bytes.length ? [{ offset: STRINGS_AT, bytes: strings.bytes }] : []),
      ...(spec.data ?? []),
    ],
  })
}

/** Where `strings` land in memory: [offset, byte length] each. */
export function stringsOf(strings: string[]): { at: Array<[number, number]>; bytes: number[] } {
  const at: Array<[number, number]> = []
  const bytes: number[] = []
  for (const s of strings) {
    const b = [...new TextEncoder().encode(s)]
    at.push([STRINGS_AT + bytes.length, b.length])
    bytes.push(...b)
  }
  return { at, bytes }
}

/** Emits `counter` (1, 2, 3 …) and `first` (sensor channel 0) every tick; init logs "started". */
export function wellBehaved(): Uint8Array {
  const strings = ['counter', 'first', 'started']
  const [counter, first, started] = stringsOf(strings).at as [
    [number, number],
    [number, number],
    [number, number],
  ]
  // imports: 0 emit, 1 log, 2 sensor_read
  return app({
    imports: ['emit', 'log', 'sensor_read'],
    strings,
    globals: [{ type: 'f64', init: op.f64(0) }],
    init: [...op.i32(1), ...op.i32(started[0]), ...op.i32(started[1]), ...op.call(1), ...op.i32(0)],
    tick: [
      ...op.globalGet(0),
      ...op.f64(1),
      ...op.f64Add,
      ...op.globalSet(0),
      ...op.i32(counter[0]),
      ...op.i32(counter[1]),
      ...op.globalGet(0),
      ...op.call(0),
      ...op.i32(first[0]),
      ...op.i32(first[1]),
      ...op.i32(0),
      ...op.call(2),
      ...op.call(0),
      ...op.i32(0),
    ],
  })
}

/** tick never returns. */
export function endlessLoop(): Uint8Array {
  return app({ tick: [...op.loop, ...op.br(0), ...op.end, ...op.i32(0)] })
}

/** Each tick grows the memory by one page and writes into it; answers 1 when memory.grow fails. */
export function memoryHog(memory: { min: number; max?: number } = { min: 1 }): Uint8Array {
  return app({
    memory,
    tickLocals: ['i32'],
    tick: [
      ...op.i32(1),
      ...op.memoryGrow,
      ...op.localTee(0),
      ...op.i32(0),
      ...op.i32LtS,
      ...op.if,
      ...op.i32(1),
      ...op.return,
      ...op.end,
      ...op.localGet(0),
      ...op.i32(16),
      ...op.i32Shl,
      ...op.i32(1),
      ...op.i32Store8,
      ...op.i32(0),
    ],
  })
}

/** `good` good ticks, then every tick calls env.abort("boom!"). */
export function trapsAfter(good: number): Uint8Array {
  // An AssemblyScript string: its byte length in the 4 bytes before its UTF-16 code units.
  const message = [10, 0, 0, 0, ...[...'boom!'].flatMap((c) => [c.charCodeAt(0), 0])]
  return app({
    imports: ['abort'],
    globals: [{ type: 'i32', init: op.i32(0) }],
    data: [{ offset: 96, bytes: message }],
    tick: [
      ...op.globalGet(0),
      ...op.i32(1),
      ...op.i32Add,
      ...op.globalSet(0),
      ...op.globalGet(0),
      ...op.i32(good),
      ...op.i32GtS,
      ...op.if,
      ...op.i32(100),
      ...op.i32(0),
      ...op.i32(7),
      ...op.i32(3),
      ...op.call(0),
      ...op.end,
      ...op.i32(0),
    ],
  })
}

/** Imports wasi_snapshot_preview1.fd_write, which ABI v1 forbids. */
export function forbiddenImport(): Uint8Array {
  return wasmModule({
    funcImports: [
      {
        module: 'wasi_snapshot_preview1',
        name: 'fd_write',
        params: ['i32', 'i32', 'i32', 'i32'],
        results: ['i32'],
      },
    ],
    funcs: [{ export: 'tick', results: ['i32'], body: op.i32(0) }],
  })
}

/** A valid app with a data segment of `bytes` bytes. */
export function huge(bytes: number): Uint8Array {
  return app({
    memory: { min: Math.ceil((bytes + 1) / 65536) },
    data: [{ offset: 0, bytes: new Uint8Array(bytes) }],
    tick: op.i32(0),
  })
}

/** Loops `rounds` times per tick (a fixed amount of work: the same fuel every tick). */
export function work(rounds: number): Uint8Array {
  return app({
    tickLocals: ['i32'],
    tick: [
      ...op.i32(rounds),
      ...op.localSet(0),
      ...op.block,
      ...op.loop,
      ...op.localGet(0),
      ...op.i32Eqz,
      ...op.brIf(1),
      ...op.localGet(0),
      ...op.i32(1),
      ...op.i32Sub,
      ...op.localSet(0),
      ...op.br(0),
      ...op.end,
      ...op.end,
      ...op.i32(0),
    ],
  })
}

/** Answers `code` from every tick (an app-reported error when not 0). */
export function answers(code: number): Uint8Array {
  return app({ tick: op.i32(code) })
}
