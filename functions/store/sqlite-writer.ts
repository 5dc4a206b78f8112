// The ingest commit on its own thread: a worker that owns a second connection to the SQLite file and
// runs each commit's statements in one IMMEDIATE transaction, so that SQLite's work (inserts, the
// fsync) no longer blocks the event loop: requests are read, parsed and validated while the previous
// group commits. Every answer still waits for its own commit. Commits run in the order they are sent.
//
// The worker gets its code as source text (`String(writerMain)`): one self-contained function, no
// bundler involved, the same under tsx, vitest and the bundled CLI. It loads better-sqlite3 from the
// path this module resolves.
import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'

/** One statement of a commit: SQL text (prepared once per text in the worker) and its parameters. */
export interface WriterStatement {
  sql: string
  params: unknown[]
}

/** A failed commit as the worker saw it: rebuilt into an Error with SQLite's code. */
interface WriterFailure {
  message: string
  code: string | undefined
}

export interface SqliteWriter {
  /** Runs the statements in one transaction; rejects with SQLite's error (its `code` kept). */
  run(statements: WriterStatement[]): Promise<void>
  close(): Promise<void>
}

interface WriterData {
  driver: string
  path: string
  synchronous: 'FULL' | 'NORMAL'
}

/**
 * The worker's whole program. It runs as a CommonJS script there and gets that script's `require` as
 * its argument (a bundler rewrites a `require` written inside the function, but not this call).
 */
function writerMain(load: NodeJS.Require): void {
  const { parentPort, workerData } = load('node:worker_threads') as typeof import('node:worker_threads')
  const data = workerData as WriterData
  const Database = load(data.driver) as typeof import('better-sqlite3')
  const db = new Database(data.path)
  db.pragma('busy_timeout = 5000')
  db.pragma(`synchronous = ${data.synchronous}`)
  const prepared = new Map<string, import('better-sqlite3').Statement>()
  const commit = db.transaction((statements: WriterStatement[]) => {
    for (const s of statements) {
      let statement = prepared.get(s.sql)
      if (!statement) {
        statement = db.prepare(s.sql)
        prepared.set(s.sql, statement)
      }
      statement.run(s.params)
    }
  })
  parentPort!.on('message', (m: { id: number; statements: WriterStatement[] } | 'close') => {
    if (m === 'close') {
      db.close()
      parentPort!.close()
      return
    }
    try {
      commit.immediate(m.statements)
      parentPort!.postMessage({ id: m.id, ok: true })
    } catch (e) {
      const error = e as { message?: string; code?: string }
      parentPort!.postMessage({ id: m.id, ok: false, message: String(error.message ?? e), code: error.code })
    }
  })
}

/**
 * The writer for a file. Its thread starts with the first commit, not here: booting a second Node
 * environment while the server starts competes with the start for the CPU (measured on 2 cores: a
 * start to the first 2xx 25-35 ms longer). Its young generation is capped at 12 MB: it allocates
 * little (each commit's messages).
 */
export function startSqliteWriter(path: string, synchronous: 'full' | 'normal'): SqliteWriter {
  const data: WriterData = {
    driver: createRequire(import.meta.url).resolve('better-sqlite3'),
    path,
    synchronous: synchronous === 'normal' ? 'NORMAL' : 'FULL',
  }
  const waiting = new Map<number, { resolve: () => void; reject: (e: Error) => void }>()
  let nextId = 1
  let dead: Error | null = null
  const failAll = (error: Error) => {
    dead ??= error
    for (const w of waiting.values()) w.reject(error)
    waiting.clear()
  }
  let worker: Worker | undefined
  const started = (): Worker => {
    if (worker) return worker
    const w = new Worker(`(${String(writerMain)})(require)`, {
      eval: true,
      workerData: data,
      resourceLimits: { maxYoungGenerationSizeMb: 12 },
    })
    w.unref()
    w.on('message', (m: { id: number; ok: boolean } & Partial<WriterFailure>) => {
      const pending = waiting.get(m.id)
      if (!pending) return
      waiting.delete(m.id)
      if (m.ok) pending.resolve()
      else pending.reject(Object.assign(new Error(m.message), { code: m.code }))
      if (waiting.size === 0) w.unref()
    })
    w.on('error', (e) => failAll(new Error(`the SQLite writer thread failed: ${e.message}`)))
    w.on('exit', (code) => failAll(new Error(`the SQLite writer thread exited (${code})`)))
    worker = w
    return w
  }
  return {
    run(statements) {
      if (dead) return Promise.reject(dead)
      const w = started()
      const id = nextId++
      return new Promise<void>((resolve, reject) => {
        waiting.set(id, { resolve, reject })
        w.ref() // a commit in flight keeps the process alive until it is answered
        w.postMessage({ id, statements })
      })
    },
    async close() {
      const w = worker
      if (!w) dead ??= new Error('the SQLite writer thread was closed before its first commit')
      if (dead || !w) return
      const exited = new Promise((r) => w.once('exit', r))
      w.postMessage('close')
      w.ref()
      await exited
    },
  }
}
