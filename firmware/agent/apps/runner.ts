// Runs app instances on the thread it lives on: the ABI v1 imports, the fuel global, and what a call
// gives back. Every host uses it: the inline host on the caller's thread, the Node host inside its
// worker threads, a browser host inside a Web Worker. So that a worker can get it as source text
// (`String(createRunner)`, no bundler involved), createRunner is ONE self-contained function: it uses
// nothing from outside its body but the language and WebAssembly (the imports here are types only).
//
// Limits held here: the memory is the host's, with the release's maximum (memory.grow past it answers
// -1); the fuel global is set before every call and read after it (fuel used = set − left; a trap with
// it below zero is fuel_exhausted); emit() and log() are bounded per call; every pointer an app hands
// over is bounds-checked (a bad one traps the call). What it cannot hold is wall time: a call runs
// until it returns, so the host kills the thread from outside (see firmware/node/app-host.ts).
import type { AppCallResult, AppLog, AppOutcome, TrapKind } from './ports.js'

export interface RunnerBounds {
  /** emit() calls kept per call. */
  maxEmits: number
  /** Longest metric name, UTF-8 bytes. */
  maxNameBytes: number
  /** log() calls kept per call. */
  maxLogs: number
  /** Longest log message kept, UTF-8 bytes (longer ones are cut). */
  maxLogBytes: number
}

export const DEFAULT_RUNNER_BOUNDS: RunnerBounds = {
  maxEmits: 32,
  maxNameBytes: 64,
  maxLogs: 8,
  maxLogBytes: 256,
}

export interface RunnerStart {
  id: number
  /** A module given to load() before. */
  key: string
  memoryMin: number
  memoryMax: number
  channels: readonly string[]
}

export type RunnerStartResult =
  | { ok: true; init: boolean }
  | {
      ok: false
      /** wall_timeout and host_restart come from a host's watchdog, never from the runner itself. */
      kind: 'link' | 'memory' | 'not_metered' | 'trap' | 'host_error' | 'wall_timeout' | 'host_restart'
      message: string
      permanent: boolean
    }

export interface RunnerCall {
  id: number
  entry: 'init' | 'tick'
  fuel: number
  nowMs: number
  values: ArrayLike<number>
}

export interface Runner {
  /** Compiles and keeps a module; answers an error message, or null. */
  load(key: string, bytes: Uint8Array): string | null
  unload(key: string): void
  start(s: RunnerStart): RunnerStartResult
  call(c: RunnerCall): AppCallResult
  stop(id: number): void
  /** Instances alive. */
  size(): number
}

export function createRunner(bounds: RunnerBounds): Runner {
  const PAGE = 65536
  const FUEL = '__edgewatch_fuel'
  const modules = new Map<string, WebAssembly.Module>()
  interface State {
    instance: WebAssembly.Instance
    memory: WebAssembly.Memory
    max: number
    fuel: WebAssembly.Global
    names: Uint8Array[]
    values: Float64Array
    nowMs: number
    emits: Array<[string, number]>
    logs: AppLog[]
    dropped: number
    abort: string | null
  }
  const instances = new Map<number, State>()
  const utf8 = new TextEncoder()
  const strict = new TextDecoder('utf-8', { fatal: true })
  const loose = new TextDecoder('utf-8')
  const utf16 = new TextDecoder('utf-16le')
  const messageOf = (e: unknown) => (e instanceof Error ? e.message : String(e))
  /** Thrown by env.abort: the app gave up. */
  const ABORT = Symbol('abort')

  const importsFor = (st: State, memory: WebAssembly.Memory) => {
    const view = (ptr: number, len: number) => {
      const buffer = memory.buffer
      const from = ptr >>> 0
      if (from + len > buffer.byteLength) throw new RangeError(`out of bounds: ${len} bytes at ${from}`)
      return new Uint8Array(buffer, from, len)
    }
    /** An AssemblyScript string: UTF-16 code units, their byte length in the 4 bytes before. */
    const asString = (ptr: number) => {
      const from = ptr >>> 0
      const buffer = memory.buffer
      if (from < 4 || from > buffer.byteLength) return null
      const len = new DataView(buffer).getUint32(from - 4, true)
      const n = Math.min(len, 512, buffer.byteLength - from) & ~1
      return utf16.decode(new Uint8Array(buffer, from, n))
    }
    return {
      env: {
        memory,
        abort(msg: number, file: number, line: number, col: number) {
          const text = (msg ? asString(msg) : null) ?? 'abort'
          const where = file ? asString(file) : null
          st.abort = where ? `${text} (${where}:${line >>> 0}:${col >>> 0})` : text
          throw ABORT
        },
      },
      edgewatch: {
        now_ms: () => st.nowMs,
        sensor_count: () => st.values.length,
        sensor_read: (ch: number) => (ch >= 0 && ch < st.values.length ? st.values[ch]! : Number.NaN),
        sensor_name(ch: number, ptr: number, cap: number) {
          const name = st.names[ch]
          if (ch < 0 || !name) return -1
          const n = Math.min(name.length, Math.max(0, cap | 0))
          view(ptr, n).set(name.subarray(0, n))
          return n
        },
        emit(ptr: number, len: number, value: number) {
          const n = len | 0
          if (st.emits.length >= bounds.maxEmits || n <= 0 || n > bounds.maxNameBytes) {
            st.dropped++
            return
          }
          try {
            st.emits.push([strict.decode(view(ptr, n)), value])
          } catch (e) {
            if (e instanceof RangeError) throw e
            st.dropped++ // not UTF-8
          }
        },
        log(level: number, ptr: number, len: number) {
          if (st.logs.length >= bounds.maxLogs) {
            st.dropped++
            return
          }
          const n = Math.min(Math.max(0, len | 0), bounds.maxLogBytes)
          const message = loose.decode(view(ptr, n)) + (n < (len | 0) ? '…' : '')
          st.logs.push({ level, message })
        },
      },
    }
  }

  const trapOf = (st: State, e: unknown, fuel: number, left: number): { trap: TrapKind; message: string } => {
    if (e === ABORT) return { trap: 'abort', message: st.abort ?? 'abort' }
    if (left < 0) return { trap: 'fuel_exhausted', message: `a call may use ${fuel} fuel` }
    const message = messageOf(e)
    if (e instanceof RangeError && /call stack/i.test(message)) return { trap: 'stack_overflow', message }
    const pages = st.memory.buffer.byteLength / PAGE
    const full = pages >= st.max ? ` (memory at its limit of ${st.max} pages)` : ''
    return { trap: 'trap', message: `${message}${full}` }
  }

  return {
    load(key, bytes) {
      if (modules.has(key)) return null
      try {
        modules.set(key, new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>))
        return null
      } catch (e) {
        return messageOf(e)
      }
    },
    unload(key) {
      modules.delete(key)
    },
    start(s) {
      const module = modules.get(s.key)
      if (!module)
        return { ok: false, kind: 'host_error', message: `module ${s.key} not loaded`, permanent: false }
      if (s.memoryMin > s.memoryMax) {
        const message = `the module needs ${s.memoryMin} memory pages, the limit is ${s.memoryMax}`
        return { ok: false, kind: 'memory', message, permanent: true }
      }
      let memory: WebAssembly.Memory
      try {
        memory = new WebAssembly.Memory({ initial: s.memoryMin, maximum: s.memoryMax })
      } catch (e) {
        // The process is out of address space for memories (V8 reserves guard regions for each).
        return {
          ok: false,
          kind: 'memory',
          message: `no memory for the app: ${messageOf(e)}`,
          permanent: false,
        }
      }
      const st = {
        memory,
        max: s.memoryMax,
        names: s.channels.map((c) => utf8.encode(c)),
        values: new Float64Array(s.channels.length).fill(Number.NaN),
        nowMs: 0,
        emits: [],
        logs: [],
        dropped: 0,
        abort: null,
      } as unknown as State
      try {
        st.instance = new WebAssembly.Instance(module, importsFor(st, memory))
      } catch (e) {
        if (e instanceof WebAssembly.LinkError) {
          return { ok: false, kind: 'link', message: messageOf(e), permanent: true }
        }
        const message = e === ABORT ? `abort: ${st.abort}` : messageOf(e)
        return {
          ok: false,
          kind: 'trap',
          message: `the start function trapped: ${message}`,
          permanent: false,
        }
      }
      const fuel = st.instance.exports[FUEL]
      if (!(fuel instanceof WebAssembly.Global) || typeof fuel.value !== 'bigint') {
        return { ok: false, kind: 'not_metered', message: `no i64 global ${FUEL} exported`, permanent: true }
      }
      try {
        const value = fuel.value
        fuel.value = value // throws when the global is immutable
      } catch {
        return { ok: false, kind: 'not_metered', message: `${FUEL} is not mutable`, permanent: true }
      }
      if (typeof st.instance.exports.tick !== 'function') {
        return { ok: false, kind: 'link', message: 'no tick export', permanent: true }
      }
      st.fuel = fuel
      instances.set(s.id, st)
      const { init, _initialize } = st.instance.exports
      return { ok: true, init: typeof init === 'function' || typeof _initialize === 'function' }
    },
    call(c) {
      const st = instances.get(c.id)
      if (!st) {
        const outcome: AppOutcome = { ok: false, trap: 'host_restart', message: 'the instance is gone' }
        return { outcome, fuelUsed: 0, memoryPages: 0, emits: [], logs: [], dropped: 0 }
      }
      st.nowMs = c.nowMs
      for (let i = 0; i < st.values.length; i++) st.values[i] = c.values[i] ?? Number.NaN
      st.emits = []
      st.logs = []
      st.dropped = 0
      st.abort = null
      // init: AssemblyScript's start function (exported as _initialize), then init(), each with its
      // own budget (ABI.md); the fuel used is their sum.
      const entries = c.entry === 'init' ? ['_initialize', 'init'] : ['tick']
      let result: unknown = 0
      let trapped = false
      let error: unknown
      let used = 0
      let left = c.fuel
      for (const name of entries) {
        const fn = st.instance.exports[name]
        if (typeof fn !== 'function') continue
        st.fuel.value = BigInt(c.fuel)
        try {
          const answer = (fn as () => unknown)()
          if (name !== '_initialize') result = answer
        } catch (e) {
          trapped = true
          error = e
        }
        left = Number(st.fuel.value)
        used += c.fuel - left
        if (trapped) break
      }
      let outcome: AppOutcome = { ok: true, result: typeof result === 'number' ? result | 0 : 0 }
      if (trapped) {
        outcome = { ok: false, ...trapOf(st, error, c.fuel, left) }
        st.emits = []
      }
      return {
        outcome,
        fuelUsed: used,
        memoryPages: st.memory.buffer.byteLength / PAGE,
        emits: st.emits,
        logs: st.logs,
        dropped: st.dropped,
      }
    },
    stop(id) {
      instances.delete(id)
    },
    size: () => instances.size,
  }
}
