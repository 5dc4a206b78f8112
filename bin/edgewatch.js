#!/usr/bin/env node
// The edgewatch command: runs the bundled CLI (npm run build makes dist/edgewatch.cjs) with V8's code
// cache for it, dist/edgewatch.cjs.serve.cache: compiling the bundle, and every function a start runs,
// otherwise takes a good part of a cold start (bench/cold-start.ts, docs/ingest-performance.md). The
// cache is made by the build (functions/cli/bundle.ts) and remade at exit by any run that finds it
// missing, stale (another build or Node) or refused by V8 (other V8 flags). This file is CommonJS
// (bin/package.json): Node starts it a few ms sooner than an ES module.
const { readFileSync, renameSync, statSync, writeFileSync } = require('node:fs')
const { createRequire } = require('node:module')
const { dirname, join } = require('node:path')
const { constants, Script } = require('node:vm')

// No V8 flag may be changed at run time (v8.setFlagsFromString) in this process: V8 then refuses
// Node's own code cache for every built-in module loaded afterwards (http, http2, crypto and fetch's
// undici compile from source: about 16 ms more per start), and a cache made at exit under the changed
// flags is refused by the next start. `--max-semi-space-size=4` used to be set here: it never bounded
// this process's heap (V8 sizes an isolate's heap when it is made), only those of worker threads
// started later; a worker's young generation is bounded by its own `resourceLimits`
// (docs/ingest-performance.md, "Cold start of edgewatch serve").

const file = join(__dirname, '..', 'dist', 'edgewatch.cjs')
// One cache for `serve`, one for the other commands (a cache holds what the run that made it compiled),
// each per set of V8 flags (V8 refuses a cache made under other flags; two kinds of runs sharing one
// file would each throw away the other's).
const flags = `${process.execArgv.join(' ')} ${process.env.NODE_OPTIONS ?? ''}`.trim()
let hash = 0x811c9dc5
for (let i = 0; i < flags.length; i++) hash = Math.imul(hash ^ flags.charCodeAt(i), 0x01000193) >>> 0
const cacheFile = `${file}.${process.argv[2] === 'serve' ? 'serve' : 'cli'}${flags ? `-${hash.toString(16)}` : ''}.cache`
let source
let stamp
try {
  source = readFileSync(file, 'utf8')
  const { size, mtimeMs } = statSync(file)
  stamp = Buffer.from(`edgewatch-code-cache ${process.version} ${size} ${mtimeMs}\n`)
} catch {
  process.stderr.write('edgewatch is not built yet: run `npm run build` (or `npm start`) first.\n')
  process.exit(2)
}

/** The cache's bytes when it was made for this very bundle file (its first line says which). */
function readCache() {
  try {
    const bytes = readFileSync(cacheFile)
    return bytes.subarray(0, stamp.length).equals(stamp) ? bytes.subarray(stamp.length) : undefined
  } catch {
    return undefined
  }
}

const cachedData = readCache()
// The bundle is run as Node runs a CommonJS module, but compiled here, with the cache.
const script = new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
  filename: file,
  cachedData,
  importModuleDynamically: constants?.USE_MAIN_CONTEXT_DEFAULT_LOADER,
})
if (cachedData === undefined || script.cachedDataRejected) {
  // Made at exit, so that it holds every function this run compiled, and only by a run that
  // succeeded (a start that failed half-way would leave a cache without the rest); written whole,
  // then renamed.
  process.once('exit', (code) => {
    if (code !== 0) return
    const tmp = `${cacheFile}.${process.pid}.tmp`
    try {
      writeFileSync(tmp, Buffer.concat([stamp, script.createCachedData()]))
      renameSync(tmp, cacheFile)
    } catch {
      // A read-only install runs without a cache.
    }
  })
}
const bundle = { exports: {} }
script.runInThisContext()(bundle.exports, createRequire(file), bundle, file, dirname(file))
bundle.exports.main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  (e) => {
    process.stderr.write(`${e?.stack ?? e}\n`)
    process.exitCode = 1
  },
)
