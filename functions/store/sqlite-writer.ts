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

export function startSqliteWriter(path: string, synchronous: 'full' | 'normal'): SqliteWriter {
  const data: WriterData = {
    driver: createRequire(import.meta.url).resolve('better-sqlite3'),
    path,
    synchronous: synchronous === 'normal' ? 'NORMAL' : 'FULL',
  }
  const worker = new Worker(`(${String(writerMain)})(require)`, { eval: true, workerData: data })
  worker.unref()
  const waiting = new Map<number, { resolve: () => void; reject: (e: Error) => void }>()
  let nextId = 1
  let dead: Error | null = null
  const failAll = (error: Error) => {
    dead ??= error
    for (const w of waiting.values()) w.reject(error)
    waiting.clear()
  }
  worker.on('message', (m: { id: number; ok: boolean } & Partial<WriterFailure>) => {
    const w = waiting.get(m.id)
    if (!w) return
    waiting.delete(m.id)
    if (m.ok) w.resolve()
    else w.reject(Object.assign(new Error(m.message), { code: m.code }))
    if (waiting.size === 0) worker.unref()
  })
  worker.on('error', (e) => failAll(new Error(`the SQLite writer thread failed: ${e.message}`)))
  worker.on('exit', (code) => failAll(new Error(`the SQLite writer thread exited (${code})`)))
  return {
    run(statements) {
      if (dead) return Promise.reject(dead)
      const id = nextId++
      return new Promise<void>((resolve, reject) => {
        waiting.set(id, { resolve, reject })
        worker.ref() // a commit in flight keeps the process alive until it is answered
        worker.postMessage({ id, statements })
      })
    },
    async close() {
      if (dead) return
      const exited = new Promise((r) => worker.once('exit', r))
      worker.postMessage('close')
      worker.ref()
      await exited
    },
  }
}
