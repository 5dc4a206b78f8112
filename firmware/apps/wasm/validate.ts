// Validates an app upload against the app ABI (abi.ts, firmware/apps/ABI.md) by reading its bytes
// only: the server never executes an app, and runs where there may be no WebAssembly global at all.
// Never throws on bad bytes: every refusal is a value with one precise reason.
import { APP_EXPORTS, formatType, HOST_FUNCTIONS, MEMORY_IMPORT, RESERVED_PREFIX, sameType } from './abi.js'
import { functionType, parseModule, WasmFormatError, type WasmModule } from './parse.js'

export interface AppLimits {
  /** The largest module accepted, in bytes (DEFAULT_MAX_APP_BYTES unless the release says otherwise). */
  maxBytes: number
  /** The release's memory limit, in 64 KiB pages: the maximum of the memory the host gives the app. */
  memoryPages: number
}

export interface ValidApp {
  /** `module.name` of every import, in the module's order. */
  imports: string[]
  /** Every export's name, in the module's order. */
  exports: string[]
  /** The memory import's declared minimum and maximum, in pages. */
  memoryMin: number
  memoryMax: number | null
  size: number
}

export type AppValidation = { ok: true; app: ValidApp } | { ok: false; reason: string }

export function validateApp(bytes: Uint8Array, limits: AppLimits): AppValidation {
  if (!(Number.isInteger(limits.maxBytes) && limits.maxBytes > 0))
    throw new RangeError(`maxBytes must be a positive integer, not ${limits.maxBytes}`)
  if (!(Number.isInteger(limits.memoryPages) && limits.memoryPages >= 0 && limits.memoryPages <= 65536))
    throw new RangeError(`memoryPages must be an integer from 0 to 65536, not ${limits.memoryPages}`)
  if (bytes.byteLength > limits.maxBytes)
    return refuse(`the module is ${bytes.byteLength} bytes, above the limit of ${limits.maxBytes} bytes`)
  let m: WasmModule
  try {
    m = parseModule(bytes)
  } catch (e) {
    if (e instanceof WasmFormatError) return refuse(`malformed module: ${e.message}`)
    throw e
  }
  const reason = abiViolation(m, limits)
  if (reason) return refuse(reason)
  const memory = m.imports.find((i) => i.kind === 'memory')!
  if (memory.kind !== 'memory') throw new Error('unreachable')
  return {
    ok: true,
    app: {
      imports: m.imports.map((i) => `${i.module}.${i.name}`),
      exports: m.exports.map((e) => e.name),
      memoryMin: memory.limits.min,
      memoryMax: memory.limits.max,
      size: bytes.byteLength,
    },
  }
}

function refuse(reason: string): AppValidation {
  return { ok: false, reason }
}

/** The first way the module breaks the ABI, or undefined. */
function abiViolation(m: WasmModule, limits: AppLimits): string | undefined {
  if (m.start !== null)
    return (
      `the module has a start section (function ${m.start}), which would run before the host applies its ` +
      'limits; export it instead (asc --exportStart _initialize)'
    )
  if (m.memories.length > 0)
    return `the module defines its own memory; an app must import ${MEMORY_IMPORT.module}.${MEMORY_IMPORT.name}`
  let memory = false
  for (const imp of m.imports) {
    const name = `${imp.module}.${imp.name}`
    if (imp.module === MEMORY_IMPORT.module && imp.name === MEMORY_IMPORT.name) {
      if (imp.kind !== 'memory') return `import ${name} must be a memory, not a ${imp.kind}`
      const { min, max, shared } = imp.limits
      if (shared) return `import ${name} is a shared memory; an app's memory is not shared`
      if (min > limits.memoryPages)
        return `import ${name} needs at least ${min} pages, above the release's limit of ${limits.memoryPages} pages`
      if (max !== null && max > limits.memoryPages)
        return `import ${name} declares a maximum of ${max} pages, above the release's limit of ${limits.memoryPages} pages`
      memory = true
      continue
    }
    const allowed = Object.hasOwn(HOST_FUNCTIONS, imp.module)
      ? Object.hasOwn(HOST_FUNCTIONS[imp.module]!, imp.name)
        ? HOST_FUNCTIONS[imp.module]![imp.name]
        : undefined
      : undefined
    if (!allowed) return `forbidden import ${name}`
    if (imp.kind !== 'func') return `import ${name} must be a function, not a ${imp.kind}`
    const type = m.types[imp.type]!
    if (!sameType(type, allowed))
      return `import ${name} has type ${formatType(type)}; the ABI says ${formatType(allowed)}`
  }
  if (!memory)
    return `the module does not import ${MEMORY_IMPORT.module}.${MEMORY_IMPORT.name}; an app must (asc --importMemory)`
  const reserved = m.exports.find((e) => e.name.startsWith(RESERVED_PREFIX))
  if (reserved) return `export ${reserved.name}: names starting with ${RESERVED_PREFIX} are the host's`
  for (const [name, { type, required }] of Object.entries(APP_EXPORTS)) {
    const exp = m.exports.find((e) => e.name === name)
    if (!exp) {
      if (required) return `the module does not export ${name}`
      continue
    }
    if (exp.kind !== 'func') return `export ${name} must be a function, not a ${exp.kind}`
    const actual = functionType(m, exp.index)!
    if (!sameType(actual, type))
      return `export ${name} has type ${formatType(actual)}; the ABI says ${formatType(type)}`
  }
  return undefined
}
