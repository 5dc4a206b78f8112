// A test host for apps: env.memory with a page limit, env.abort that throws, the edgewatch functions
// over fixed sensor values, and a record of every host call with the fuel left at that moment.
import { type FuelGlobal, fuelGlobal } from '../fuel.js'

export class AppAbort extends Error {
  override name = 'AppAbort'
}

export interface TestApp {
  exports: Record<string, unknown>
  memory: WebAssembly.Memory
  /** Undefined when the module is not metered. */
  fuel: FuelGlobal | undefined
  emitted: number[]
  /** The fuel left at each host call (metered modules only). */
  fuelAtHostCalls: bigint[]
  call(name: string, ...args: number[]): unknown
}

export async function instantiateApp(
  bytes: Uint8Array<ArrayBuffer>,
  options: { sensors?: number[]; pages?: number; maxPages?: number } = {},
): Promise<TestApp> {
  const sensors = options.sensors ?? [20, 21.5, 19.25]
  const memory = new WebAssembly.Memory({ initial: options.pages ?? 1, maximum: options.maxPages ?? 16 })
  const emitted: number[] = []
  const fuelAtHostCalls: bigint[] = []
  let fuel: FuelGlobal | undefined
  /** Records the fuel left at a host call; returns the call's answer. */
  const seen = <T>(answer?: T): T => {
    if (fuel) fuelAtHostCalls.push(fuel.value)
    return answer as T
  }
  const imports = {
    env: {
      memory,
      abort: (msg: number, file: number, line: number, col: number) => {
        seen()
        throw new AppAbort(`abort at ${line}:${col} (message at ${msg}, file at ${file})`)
      },
    },
    edgewatch: {
      now_ms: () => seen(1_700_000_000_000),
      sensor_count: () => seen(sensors.length),
      sensor_read: (channel: number) => seen(sensors[channel] ?? Number.NaN),
      sensor_name: (_channel: number, _ptr: number, _cap: number) => seen(0),
      emit: (_ptr: number, _len: number, value: number) => {
        seen()
        emitted.push(value)
      },
      log: (_level: number, _ptr: number, _len: number) => seen(),
    },
  }
  const { instance } = await WebAssembly.instantiate(bytes, imports)
  const exports = instance.exports as Record<string, unknown>
  try {
    fuel = fuelGlobal(exports)
  } catch {
    fuel = undefined
  }
  return {
    exports,
    memory,
    fuel,
    emitted,
    fuelAtHostCalls,
    call: (name, ...args) => (exports[name] as (...a: number[]) => unknown)(...args),
  }
}
