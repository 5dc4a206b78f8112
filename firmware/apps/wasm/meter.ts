// Fuel metering: a pure transform of a module's bytes that makes it count the instructions it runs
// and trap when a budget is spent. Bytes in, bytes out: no WebAssembly.* call, so it runs the same in
// Node, a browser worker, workerd and Spin, and the fuel an app uses is a function of its bytes and
// its inputs only, never of the host.
//
// The module gets one more global, a mutable i64 defined after the existing ones (no index moves),
// exported as `__edgewatch_fuel`: the fuel left. The host sets it before a call and reads it after.
//
// Cost model (firmware/apps/ABI.md): every instruction of the original code executed costs 1;
// memory.copy, memory.fill and memory.init cost 1 more per 8 bytes, memory.grow 1024 more per page
// asked for, table.copy, table.fill, table.init and table.grow 1 more per element.
//
// Charges. The code is cut into segments at every control boundary (block, loop, if, else, end, br,
// br_if, br_table, return, unreachable, return_call*): a segment runs whole or not at all (short of a
// trap). Where a segment can be entered other than by falling into it from the one before (a
// function's entry, a loop's body, each arm of an if, the code after an if or after a block that a
// branch leaves, the code after a br_if), the transform inserts a charge of the instructions of that
// segment and of the segments that can only be reached by falling through from it:
//
//     global.get $fuel  i64.const <cost>  i64.sub  global.set $fuel
//
// So the fuel used is exactly the number of original instructions executed (an end or else reached
// by a branch rather than by falling into it does not count), plus the bulk charges, which are made
// just before their operation from its length operand (kept in one extra i32 local, in the functions
// that have bulk operations).
//
// Checks. A check traps when the fuel is below zero:
//
//     global.get $fuel  i64.const 0  i64.lt_s  if  unreachable  end
//
// It follows the charge at each function entry and at each loop body, and each bulk charge; it also
// comes before every way out of a function (return, its last end, a branch to its label, a tail call)
// and before every call that may reach the host (a call to an import, call_indirect). Between two
// checks there is neither a loop nor a call, so a call traps at most one function body's worth of
// instructions after its budget ran out (the time it takes is bounded by the code's size), it never
// returns with the fuel below zero, and no host function runs once it is. A check after every segment
// would trap at the exact instruction, but made the kernel about 30% slower instead of about 10%, and
// 62% larger instead of 34% (bench-meter.ts).
import { BodyReader, Bulk, Flow } from './code.js'
import { parseModule, SECTION_ORDER, type WasmModule } from './parse.js'
import { pushS64, pushU32 } from './reader.js'

/** The name of the exported global that holds the fuel left (an i64, a BigInt in JavaScript). */
export const FUEL_EXPORT = '__edgewatch_fuel'

export interface MeterOptions {
  /**
   * The fuel global's value at instantiation (default 0: a call before the host sets the fuel traps
   * at once). Code that runs at instantiation (a start function) spends it.
   */
  initialFuel?: bigint
}

/** A module that parses but cannot be metered. */
export class MeterError extends Error {
  override name = 'MeterError'
}

const MAX_LOCALS = 50_000
const I64_MAX = (1n << 63n) - 1n

/**
 * Returns the metered module. Throws WasmFormatError when the bytes are not a module the parser
 * accepts, MeterError when the module already exports `__edgewatch_fuel` (it is metered already) or
 * a function needing the extra local already has the most locals an engine allows.
 */
export function meter(bytes: Uint8Array, options: MeterOptions = {}): Uint8Array<ArrayBuffer> {
  return rewrite(bytes, options, planSegments)
}

/**
 * Where to charge how much in one function body, in the order of `at`: a static charge (bulk
 * Bulk.none) of `cost` before the byte at `at`, or a bulk charge just before a bulk operation.
 */
export interface Charge {
  at: number
  bulk: number
  cost: number
  /** Whether to trap right after this charge if the fuel is below zero. */
  check: boolean
}

/** The transform with a given placement of charges (meter() uses planSegments; tests compare others). */
export function rewrite(
  bytes: Uint8Array,
  options: MeterOptions,
  plan: (br: BodyReader, m: WasmModule) => Charge[],
): Uint8Array<ArrayBuffer> {
  const initialFuel = options.initialFuel ?? 0n
  if (initialFuel < 0n || initialFuel > I64_MAX) throw new RangeError('initialFuel must be in [0, 2^63)')
  const m = parseModule(bytes)
  if (m.exports.some((e) => e.name === FUEL_EXPORT))
    throw new MeterError(`the module already exports ${FUEL_EXPORT} (is it metered already?)`)
  const fuel = m.imported.globals + m.globals.length
  const out: number[] = []
  copy(out, bytes, 0, 8)
  let globalsDone = false
  let exportsDone = false
  const ensure = (rank: number) => {
    if (!globalsDone && rank > SECTION_ORDER[6]!) {
      globalsDone = true
      section(out, 6, globalSection(bytes, m, undefined, initialFuel))
    }
    if (!exportsDone && rank > SECTION_ORDER[7]!) {
      exportsDone = true
      section(out, 7, exportSection(bytes, undefined, fuel))
    }
  }
  let customs = 0 // m.customs are the custom sections in order
  for (const s of m.sections) {
    if (s.id === 0) {
      const custom = m.customs[customs++]!
      // Code offsets in these hints would point at the wrong instructions once charges are inserted.
      if (!custom.name.startsWith('metadata.code.')) copy(out, bytes, s.start, s.end)
      continue
    }
    ensure(SECTION_ORDER[s.id]!)
    if (s.id === 6) {
      globalsDone = true
      section(out, 6, globalSection(bytes, m, s, initialFuel))
    } else if (s.id === 7) {
      exportsDone = true
      section(out, 7, exportSection(bytes, s, fuel))
    } else if (s.id === 10) {
      section(out, 10, codeSection(bytes, m, fuel, plan))
    } else {
      copy(out, bytes, s.start, s.end)
    }
  }
  ensure(Number.POSITIVE_INFINITY)
  return Uint8Array.from(out)
}

function copy(out: number[], bytes: Uint8Array, from: number, to: number): void {
  for (let i = from; i < to; i++) out.push(bytes[i]!)
}

function section(out: number[], id: number, payload: number[]): void {
  out.push(id)
  pushU32(out, payload.length)
  for (const b of payload) out.push(b)
}

/** The items of a vector section after its count: [start, end), and the count. */
function items(bytes: Uint8Array, s: { payload: number; end: number }): { count: number; from: number } {
  let count = 0
  let shift = 1
  let at = s.payload
  for (;;) {
    const b = bytes[at++]!
    count += (b & 0x7f) * shift
    shift *= 128
    if (!(b & 0x80)) return { count, from: at }
  }
}

function globalSection(
  bytes: Uint8Array,
  m: WasmModule,
  s: { payload: number; end: number } | undefined,
  initialFuel: bigint,
): number[] {
  const payload: number[] = []
  pushU32(payload, m.globals.length + 1)
  if (s) copy(payload, bytes, items(bytes, s).from, s.end)
  payload.push(0x7e, 0x01, 0x42) // i64, mutable, i64.const
  pushS64(payload, initialFuel)
  payload.push(0x0b)
  return payload
}

function exportSection(
  bytes: Uint8Array,
  s: { payload: number; end: number } | undefined,
  fuel: number,
): number[] {
  const payload: number[] = []
  const existing = s ? items(bytes, s) : { count: 0, from: 0 }
  pushU32(payload, existing.count + 1)
  if (s) copy(payload, bytes, existing.from, s.end)
  const name = new TextEncoder().encode(FUEL_EXPORT)
  pushU32(payload, name.length)
  for (const b of name) payload.push(b)
  payload.push(0x03) // a global
  pushU32(payload, fuel)
  return payload
}

function codeSection(
  bytes: Uint8Array,
  m: WasmModule,
  fuel: number,
  plan: (br: BodyReader, m: WasmModule) => Charge[],
): number[] {
  const payload: number[] = []
  pushU32(payload, m.bodies.length)
  const spaces = {
    types: m.types.length,
    functions: m.imported.functions + m.functions.length,
    tables: m.imported.tables + m.tables.length,
    memories: m.imported.memories + m.memories.length,
    globals: m.imported.globals + m.globals.length,
    elements: m.elementSegments,
    dataCount: m.dataCount,
  }
  const body: number[] = []
  m.bodies.forEach(({ start, end }, i) => {
    const index = m.imported.functions + i
    const params = m.types[m.functions[i]!]!.params.length
    body.length = 0
    const br = new BodyReader(bytes, start, end, spaces, params, `function ${index}`)
    emitBody(bytes, br, plan(br, m), fuel, params, body)
    pushU32(payload, body.length)
    for (const b of body) payload.push(b)
  })
  return payload
}

/**
 * The charges of the cost model: a charge at the start of each segment that can be entered other than
 * by falling into it, checked at function entries and loop bodies; checks before every way out of the
 * function and before every call that may reach the host; the bulk charges, checked.
 */
export function planSegments(br: BodyReader, m: WasmModule): Charge[] {
  const charges: Charge[] = []
  const site = (at: number, check: boolean) => charges.push({ at, bulk: Bulk.none, cost: 0, check }) - 1
  const check = (at: number) => {
    const last = charges[charges.length - 1]!
    if (last.at === at && last.bulk === Bulk.none) last.check = true
    else charges.push({ at, bulk: Bulk.none, cost: 0, check: true })
  }
  let current = site(br.codeStart, true)
  while (!br.done) {
    const flow = br.next()
    if (br.bulk !== Bulk.none) charges.push({ at: br.start, bulk: br.bulk, cost: 0, check: true })
    if (current >= 0) charges[current]!.cost++
    // Code that never runs (after a br, return or unreachable, up to the next end or else) needs no check.
    if (current >= 0)
      switch (br.op) {
        case 0x10: // call: an imported function is the host's code, not metered at its entry
          if (br.func < m.imported.functions) check(br.start)
          break
        case 0x11: // call_indirect: the table may hold an imported function
        case 0x12: // return_call
        case 0x13: // return_call_indirect
        case 0x0f: // return
          check(br.start)
          break
        case 0x0b: // the function's own end
          if (br.done) check(br.start)
          break
        case 0x0c: // br, br_if to the function's label: a return
        case 0x0d:
          if (br.depth === br.functionDepth) check(br.start)
          break
        case 0x0e:
          if (br.depths.includes(br.functionDepth)) check(br.start)
          break
      }
    switch (flow) {
      case Flow.loop:
        current = site(br.end, true)
        break
      case Flow.if:
      case Flow.else:
      case Flow.brIf:
        current = site(br.end, false)
        break
      case Flow.end:
        // After an if (the false path or the then arm arrive there) or a block some branch leaves, a
        // segment can start other than by falling through. A loop's end is only ever fallen into.
        if (!br.done && (br.closed.kind === Flow.if || (br.closed.kind === Flow.block && br.closed.targeted)))
          current = site(br.end, false)
        break
      case Flow.br:
      case Flow.brTable:
      case Flow.exit:
        current = -1 // what follows up to the next end or else never runs
        break
    }
  }
  return charges
}

/** Writes the body with the charges inserted, and an i32 local for the bulk charges if there are any. */
function emitBody(
  bytes: Uint8Array,
  br: BodyReader,
  charges: Charge[],
  fuel: number,
  params: number,
  out: number[],
): void {
  if (!br.done) throw new Error('the plan must read the whole body')
  const bulk = charges.some((c) => c.bulk !== Bulk.none)
  const temp = params + br.localCount
  if (bulk) {
    if (temp + 1 > MAX_LOCALS)
      throw new MeterError(`${br.r.where} has ${temp} locals; its bulk-memory charges need one more`)
    pushU32(out, br.localGroups + 1)
    copy(out, bytes, br.groupsStart, br.codeStart)
    out.push(0x01, 0x7f) // one i32
  } else {
    pushU32(out, br.localGroups)
    copy(out, bytes, br.groupsStart, br.codeStart)
  }
  let from = br.codeStart
  for (const c of charges) {
    if (c.at < from || c.at > br.r.end)
      throw new Error('charges must be in the order of their places in the body')
    if (c.bulk === Bulk.none && c.cost === 0 && !c.check) continue
    copy(out, bytes, from, c.at)
    from = c.at
    if (c.bulk === Bulk.none && c.cost === 0) {
      // A check alone.
    } else if (c.bulk === Bulk.none) {
      out.push(0x23) // global.get $fuel
      pushU32(out, fuel)
      out.push(0x42) // i64.const cost
      pushS64(out, BigInt(c.cost))
    } else {
      out.push(0x22) // local.tee $temp: the length stays on the stack for the operation
      pushU32(out, temp)
      out.push(0x23) // global.get $fuel
      pushU32(out, fuel)
      out.push(0x20) // local.get $temp
      pushU32(out, temp)
      out.push(0xad) // i64.extend_i32_u
      if (c.bulk === Bulk.bytes)
        out.push(0x42, 0x03, 0x88) // i64.const 3, i64.shr_u: per 8 bytes
      else if (c.bulk === Bulk.pages) out.push(0x42, 0x0a, 0x86) // i64.const 10, i64.shl: 1024 per page
    }
    if (c.bulk !== Bulk.none || c.cost > 0) {
      out.push(0x7d, 0x24) // i64.sub, global.set $fuel
      pushU32(out, fuel)
    }
    if (!c.check) continue
    out.push(0x23) // global.get $fuel
    pushU32(out, fuel)
    out.push(0x42, 0x00, 0x53, 0x04, 0x40, 0x00, 0x0b) // i64.const 0, i64.lt_s, if, unreachable, end
  }
  copy(out, bytes, from, br.r.end)
}
