// Hand assembly of small modules for tests: sections from byte arrays, LEB128, names, vectors.
import { pushS64, pushU32 } from '../reader.js'

export const T = {
  i32: 0x7f,
  i64: 0x7e,
  f32: 0x7d,
  f64: 0x7c,
  v128: 0x7b,
  funcref: 0x70,
  externref: 0x6f,
} as const

export function u32(n: number): number[] {
  const out: number[] = []
  pushU32(out, n)
  return out
}

export function s64(n: bigint | number): number[] {
  const out: number[] = []
  pushS64(out, BigInt(n))
  return out
}

export function name(s: string): number[] {
  const b = [...new TextEncoder().encode(s)]
  return [...u32(b.length), ...b]
}

export function vec(items: number[][]): number[] {
  return [...u32(items.length), ...items.flat()]
}

export function section(id: number, payload: number[]): number[] {
  return [id, ...u32(payload.length), ...payload]
}

/** Module bytes, typed as the WebAssembly API wants them. */
export type Bytes = Uint8Array<ArrayBuffer>

export function module(...sections: number[][]): Bytes {
  return Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, ...sections.flat()])
}

export const types = (...ts: [number[], number[]][]) =>
  section(1, vec(ts.map(([p, r]) => [0x60, ...vec(p.map((x) => [x])), ...vec(r.map((x) => [x]))])))

export type ImportDesc =
  | { func: number }
  | { memory: [number, number?]; shared?: boolean }
  | { table: [number, number?] }
  | { global: number; mutable?: boolean }

export function limits(min: number, max?: number, shared = false): number[] {
  const flags = (max === undefined ? 0 : 1) | (shared ? 2 : 0)
  return [flags, ...u32(min), ...(max === undefined ? [] : u32(max))]
}

export const imports = (...is: [string, string, ImportDesc][]) =>
  section(
    2,
    vec(
      is.map(([m, n, d]) => [
        ...name(m),
        ...name(n),
        ...('func' in d
          ? [0x00, ...u32(d.func)]
          : 'memory' in d
            ? [0x02, ...limits(d.memory[0], d.memory[1], d.shared)]
            : 'table' in d
              ? [0x01, T.funcref, ...limits(d.table[0], d.table[1])]
              : [0x03, d.global, d.mutable ? 1 : 0]),
      ]),
    ),
  )

export const functions = (...typeIndices: number[]) => section(3, vec(typeIndices.map((t) => u32(t))))
export const memory = (min: number, max?: number) => section(5, vec([limits(min, max)]))
export const table = (min: number, max?: number) => section(4, vec([[T.funcref, ...limits(min, max)]]))
export const globals = (...gs: { type: number; mutable: boolean; init: number[] }[]) =>
  section(6, vec(gs.map((g) => [g.type, g.mutable ? 1 : 0, ...g.init, 0x0b])))
export const exports = (...es: [string, 'func' | 'table' | 'memory' | 'global', number][]) =>
  section(
    7,
    vec(es.map(([n, k, i]) => [...name(n), ['func', 'table', 'memory', 'global'].indexOf(k), ...u32(i)])),
  )
export const start = (f: number) => section(8, u32(f))
export const dataCount = (n: number) => section(12, u32(n))

/** A function body: locals as [count, type] groups, then the code (which must end with 0x0b). */
export interface BodySpec {
  locals?: [number, number][]
  code: number[]
}
export const code = (...bodies: BodySpec[]) =>
  section(
    10,
    vec(
      bodies.map((b) => {
        const body = [...vec((b.locals ?? []).map(([n, t]) => [...u32(n), t])), ...b.code]
        return [...u32(body.length), ...body]
      }),
    ),
  )
export const custom = (n: string, payload: number[]) => section(0, [...name(n), ...payload])

/** Opcodes used by the tests, by name. */
export const op = {
  unreachable: 0x00,
  nop: 0x01,
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  else: 0x05,
  end: 0x0b,
  br: 0x0c,
  br_if: 0x0d,
  br_table: 0x0e,
  return: 0x0f,
  call: 0x10,
  drop: 0x1a,
  select: 0x1b,
  local_get: 0x20,
  local_set: 0x21,
  local_tee: 0x22,
  global_get: 0x23,
  global_set: 0x24,
  i32_load: 0x28,
  i32_store: 0x36,
  memory_size: 0x3f,
  memory_grow: 0x40,
  i32_const: 0x41,
  i64_const: 0x42,
  f64_const: 0x44,
  i32_eqz: 0x45,
  i32_lt_s: 0x48,
  i32_add: 0x6a,
  i32_sub: 0x6b,
  i32_mul: 0x6c,
  void: 0x40,
} as const

/**
 * A minimal valid app: imports env.memory (min 1, no max), exports `tick: () -> i32` returning 7.
 * Parts can be replaced or extra sections added (in the right order) for the cases under test.
 */
export function minimalApp(
  parts: {
    types?: number[]
    imports?: number[]
    functions?: number[]
    exports?: number[]
    code?: number[]
    extra?: number[][]
  } = {},
): Bytes {
  return module(
    parts.types ?? types([[], [T.i32]]),
    parts.imports ?? imports(['env', 'memory', { memory: [1] }]),
    parts.functions ?? functions(0),
    parts.exports ?? exports(['tick', 'func', 0]),
    parts.code ?? code({ code: [op.i32_const, 7, op.end] }),
    ...(parts.extra ?? []),
  )
}
