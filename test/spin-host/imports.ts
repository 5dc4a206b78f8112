// The host side of the Spin component's imports, in plain Node: WASI from preview2-shim, Spin's
// SQLite on a better-sqlite3 file, key-value in memory, variables from a map, and the kernel
// interface from the transpiled kernel component.
import * as shim from '@bytecodealliance/preview2-shim'
import Database from 'better-sqlite3'

type SqlValue =
  | { tag: 'integer'; val: bigint }
  | { tag: 'real'; val: number }
  | { tag: 'text'; val: string }
  | { tag: 'blob'; val: Uint8Array }
  | { tag: 'null' }

export interface HostOptions {
  /** The SQLite file behind the `default` database. */
  dbPath: string
  /** Spin variables by name (ingest_token, admin_token, config, retention, body_limit). */
  variables: Record<string, string | undefined>
  /** `edgewatch:kernel/detect`. */
  detect: { run: (...args: never[]) => unknown }
}

export interface Host {
  imports: Record<string, unknown>
  close(): void
}

export function makeHost(options: HostOptions): Host {
  const db = new Database(options.dbPath)
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = FULL')

  class Connection {
    static open(database: string): Connection {
      if (database !== 'default') throw { tag: 'no-such-database' }
      return new Connection()
    }
    execute(statement: string, parameters: SqlValue[]) {
      try {
        const stmt = db.prepare(statement)
        const args = parameters.map(toJs)
        if (!stmt.reader) {
          stmt.run(...args)
          return { columns: [], rows: [] }
        }
        const columns = stmt.columns().map((c) => c.name)
        const rows = (
          stmt
            .raw(true)
            .safeIntegers(true)
            .all(...args) as unknown[][]
        ).map((r) => ({
          values: r.map(toSql),
        }))
        return { columns, rows }
      } catch (e) {
        if (process.env.SPIN_HOST_DEBUG) process.stderr.write(`sqlite: ${(e as Error).message}\n`)
        throw { tag: 'io', val: (e as Error).message }
      }
    }
  }

  const kv = new Map<string, Uint8Array>()
  class Store {
    static open(label: string): Store {
      if (label !== 'default') throw { tag: 'no-such-store' }
      return new Store()
    }
    get(key: string) {
      return kv.get(key)
    }
    set(key: string, value: Uint8Array) {
      kv.set(key, value.slice())
    }
    delete(key: string) {
      kv.delete(key)
    }
    exists(key: string) {
      return kv.has(key)
    }
    getKeys() {
      return [...kv.keys()]
    }
  }

  const variables = {
    get(name: string): string {
      const value = options.variables[name]
      if (value === undefined) throw { tag: 'undefined', val: `no variable ${name}` }
      return value
    },
  }

  const { cli, clocks, filesystem, http, io, random } = shim
  const byName: Record<string, unknown> = {
    'edgewatch:kernel/detect': options.detect,
    'fermyon:spin/sqlite': { Connection },
    'fermyon:spin/key-value': { Store },
    'fermyon:spin/variables': variables,
    'wasi:cli/environment': cli.environment,
    'wasi:cli/exit': cli.exit,
    'wasi:cli/stderr': cli.stderr,
    'wasi:cli/stdin': cli.stdin,
    'wasi:cli/stdout': cli.stdout,
    'wasi:cli/terminal-input': cli.terminalInput,
    'wasi:cli/terminal-output': cli.terminalOutput,
    'wasi:cli/terminal-stderr': cli.terminalStderr,
    'wasi:cli/terminal-stdin': cli.terminalStdin,
    'wasi:cli/terminal-stdout': cli.terminalStdout,
    'wasi:clocks/monotonic-clock': clocks.monotonicClock,
    'wasi:clocks/wall-clock': clocks.wallClock,
    'wasi:filesystem/preopens': filesystem.preopens,
    'wasi:filesystem/types': filesystem.types,
    'wasi:http/outgoing-handler': http.outgoingHandler,
    'wasi:http/types': { ...http.types, ResponseOutparam: bodilessResponsesFinished(http.types) },
    'wasi:io/error': io.error,
    'wasi:io/poll': io.poll,
    'wasi:io/streams': io.streams,
    'wasi:random/random': random.random,
  }
  // jco 1.35 looks imports up by unversioned name; older ones used the versioned names.
  const imports = new Proxy(byName, {
    get: (t, k) => (typeof k === 'string' ? (t[k] ?? t[k.replace(/@[^/]*$/, '')]) : undefined),
  })
  return { imports, close: () => db.close() }
}

function toJs(v: SqlValue): unknown {
  switch (v.tag) {
    case 'null':
      return null
    case 'blob':
      return Buffer.from(v.val)
    default:
      return v.val
  }
}

function toSql(v: unknown): SqlValue {
  if (v === null || v === undefined) return { tag: 'null' }
  if (typeof v === 'bigint') return { tag: 'integer', val: v }
  if (typeof v === 'number') return { tag: 'real', val: v }
  if (typeof v === 'string') return { tag: 'text', val: v }
  if (v instanceof Uint8Array) return { tag: 'blob', val: new Uint8Array(v) }
  throw new TypeError(`unexpected SQLite value ${String(v)}`)
}

interface HttpTypes {
  OutgoingResponse: { prototype: { body(): unknown } }
  OutgoingBody: { finish(body: unknown, trailers: unknown): void }
  ResponseOutparam: { prototype: object; set(param: unknown, response: { tag: string; val: unknown }): void }
}

/**
 * preview2-shim's HTTP server reads the body of every response, and fails (taking the process
 * down) on one that has none, such as a 204, which Spin itself serves. This ResponseOutparam gives
 * a response whose body the component never took an empty one, finished once the response is set.
 */
function bodilessResponsesFinished(types: unknown): unknown {
  const { OutgoingResponse, OutgoingBody, ResponseOutparam } = types as HttpTypes
  const taken = new WeakSet<object>()
  const body = OutgoingResponse.prototype.body
  if (!(body as { patched?: boolean }).patched) {
    const tracked = function (this: object) {
      taken.add(this)
      return body.call(this)
    }
    Object.assign(tracked, { patched: true, taken })
    OutgoingResponse.prototype.body = tracked
  }
  const seen = (OutgoingResponse.prototype.body as unknown as { taken: WeakSet<object> }).taken
  function Outparam() {}
  Outparam.prototype = ResponseOutparam.prototype
  Outparam.set = (param: unknown, response: { tag: string; val: unknown }) => {
    const res = response.val as { body(): unknown } & object
    if (response.tag !== 'ok' || seen.has(res)) return ResponseOutparam.set(param, response)
    const empty = res.body()
    ResponseOutparam.set(param, response)
    OutgoingBody.finish(empty, undefined)
  }
  return Outparam
}
