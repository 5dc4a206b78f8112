// A minimal host for the app ABI v1, to run an app tick by tick in tests and scripts: plain WebAssembly,
// a scripted sensor (the caller sets the time and every channel's value before each tick), and collectors
// for what the app emits and logs. No fuel or time limit: never give it an app that may not return. The
// device agent's runtime (firmware/agent/apps/) is the real host.
import { parseModule } from '../wasm/parse.js'

export interface Emitted {
  /** now_ms() when the app emitted it. */
  ts: number
  name: string
  value: number
}

export interface Logged {
  ts: number
  level: number
  message: string
}

export interface HostOptions {
  /** The memory's maximum, pages: the release's memoryPages. */
  memoryPages: number
  /** The sensor's channel names, in channel order. */
  channels: readonly string[]
}

/** An env.abort call, or a host function given memory outside the app's. */
export class AppTrap extends Error {
  override name = 'AppTrap'
}

interface AppExports {
  tick?: () => number
  init?: () => number
  _initialize?: () => void
}

export class TestHost {
  readonly emits: Emitted[] = []
  readonly logs: Logged[] = []
  /** The time now_ms() gives. */
  now = 0
  /** The value of each channel sensor_read gives (NaN past the end). */
  values: ArrayLike<number> = []
  /** How many times the app called sensor_name. */
  nameLookups = 0

  private constructor(
    readonly memory: WebAssembly.Memory,
    private readonly channels: readonly string[],
    private exports: AppExports = {},
  ) {}

  /**
   * Instantiates an app with a fresh memory of the size its import asks for (at most memoryPages) and
   * calls its _initialize, if it exports one. Throws when it cannot be linked.
   */
  static async start(bytes: Uint8Array<ArrayBuffer>, options: HostOptions): Promise<TestHost> {
    const memoryImport = parseModule(bytes).imports.find((i) => i.kind === 'memory')
    const min = memoryImport?.kind === 'memory' ? memoryImport.limits.min : 0
    if (min > options.memoryPages) {
      throw new RangeError(`the app needs ${min} pages of memory, the limit is ${options.memoryPages}`)
    }
    const memory = new WebAssembly.Memory({ initial: min, maximum: options.memoryPages })
    const host = new TestHost(memory, options.channels)
    const { instance } = await WebAssembly.instantiate(bytes, host.imports())
    host.exports = instance.exports as AppExports
    host.exports._initialize?.()
    return host
  }

  /** Whether the app exports a function by this name. */
  has(name: keyof AppExports): boolean {
    return typeof this.exports[name] === 'function'
  }

  /** Calls init when the app has one (undefined when not). */
  init(): number | undefined {
    return this.exports.init?.()
  }

  /** Sets the time and the readings, then calls tick; returns its status. */
  tick(now: number, values: ArrayLike<number>): number {
    this.now = now
    this.values = values
    const tick = this.exports.tick
    if (!tick) throw new Error('the app does not export tick')
    return tick()
  }

  /** Memory pages the app has now. */
  pages(): number {
    return this.memory.buffer.byteLength / 65536
  }

  private imports(): WebAssembly.Imports {
    return {
      env: {
        memory: this.memory,
        abort: (message: number, file: number, line: number, column: number) => {
          throw new AppTrap(`abort: ${this.asString(message)} at ${this.asString(file)}:${line}:${column}`)
        },
      },
      edgewatch: {
        now_ms: () => this.now,
        sensor_count: () => this.channels.length,
        sensor_read: (channel: number) =>
          channel >= 0 && channel < this.values.length ? this.values[channel]! : Number.NaN,
        sensor_name: (channel: number, ptr: number, cap: number) => {
          this.nameLookups += 1
          const name = this.channels[channel]
          if (name === undefined || cap <= 0) return 0
          return new TextEncoder().encodeInto(name, this.bytes(ptr, cap)).written
        },
        emit: (ptr: number, len: number, value: number) => {
          this.emits.push({ ts: this.now, name: this.text(ptr, len), value })
        },
        log: (level: number, ptr: number, len: number) => {
          this.logs.push({ ts: this.now, level, message: this.text(ptr, len) })
        },
      },
    }
  }

  /** The app's bytes [ptr, ptr + len), or a trap when they are not all in its memory. */
  private bytes(ptr: number, len: number): Uint8Array {
    const size = this.memory.buffer.byteLength
    const start = ptr >>> 0
    if (len < 0 || start + len > size) throw new AppTrap(`memory access out of bounds: ${start} + ${len}`)
    return new Uint8Array(this.memory.buffer, start, len)
  }

  private text(ptr: number, len: number): string {
    return new TextDecoder().decode(this.bytes(ptr, len))
  }

  /** An AssemblyScript string (UTF-16, its byte length in the 4 bytes before it); "" for null. */
  private asString(ptr: number): string {
    if (ptr === 0) return ''
    const len = new DataView(this.memory.buffer).getUint32((ptr >>> 0) - 4, true)
    return String.fromCharCode(...new Uint16Array(this.bytes(ptr, len & ~1).slice().buffer))
  }
}
