// Bundles the edgewatch command (CLI, server, app) into one CommonJS file, dist/edgewatch.cjs, and
// makes V8's code cache for `serve`, dist/edgewatch.cjs.serve.cache, by starting the server once. One file to
// load instead of hundreds of modules cut Node's start to first answer by about 40%; the code cache,
// CommonJS (a built-in module is loaded when the code needing it first runs, not before anything
// runs), what is left out below and no V8 flag set at run time took it from about 200 to about 145 ms
// (bench/cold-start.ts, docs/ingest-performance.md). bin/edgewatch.js runs it.

import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { get } from 'node:http'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { build, type Plugin } from 'esbuild'
import { projectRoot } from '../../kernels/node.js'

const root = projectRoot()

/**
 * zod's translated error messages (about 340 kB) stay out of the bundle: zod itself uses only the
 * English ones, which it imports directly, and edgewatch reads no other.
 */
const onlyEnglishZodMessages: Plugin = {
  name: 'edgewatch-only-english-zod-messages',
  setup(b) {
    b.onLoad({ filter: /[\\/]zod[\\/]v4[\\/]locales[\\/]index\.js$/ }, (args) => ({
      contents: 'export { default as en } from "./en.js";\n',
      resolveDir: dirname(args.path),
    }))
  },
}

/**
 * better-sqlite3's JavaScript is bundled (compiled once, into the code cache, instead of a dozen
 * CommonJS files compiled at every start); its native addon stays in node_modules and is loaded from
 * where npm built it, without the `bindings` package working out that folder from a stack trace and
 * trying other builds first. `bindings` remains the fallback for an addon built elsewhere.
 */
const sqliteAddon: Plugin = {
  name: 'edgewatch-sqlite-addon',
  setup(b) {
    b.onResolve({ filter: /^bindings$/ }, (args) =>
      /[\\/]better-sqlite3[\\/]/.test(args.importer)
        ? { path: 'better-sqlite3-addon', namespace: 'edgewatch' }
        : undefined,
    )
    b.onLoad({ filter: /^better-sqlite3-addon$/, namespace: 'edgewatch' }, () => ({
      contents: `const { dirname, join } = require('node:path')
module.exports = (name) => {
  const root = dirname(require.resolve('better-sqlite3/package.json'))
  try {
    return require(join(root, 'build', 'Release', name))
  } catch (e) {
    if (e.code !== 'MODULE_NOT_FOUND') throw e
    return require('bindings')({ bindings: name, module_root: root })
  }
}
`,
      loader: 'js',
      resolveDir: root,
    }))
  },
}

const dist = join(root, 'dist')
const outfile = join(dist, 'edgewatch.cjs')
// The caches of an earlier bundle must never meet this one; the ES module bundle of earlier builds goes.
mkdirSync(dist, { recursive: true })
for (const f of readdirSync(dist))
  if (/^edgewatch\.cjs\..*cache$|^edgewatch\.mjs(\.map)?$/.test(f)) rmSync(join(dist, f), { force: true })
await build({
  entryPoints: [join(root, 'functions', 'cli', 'main.ts')],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  sourcemap: true,
  // Less to read and scan at every start; names are kept, so stack traces still read.
  minifyWhitespace: true,
  // The compiler stays in node_modules; so does SQLite's native addon (sqliteAddon finds it).
  external: ['assemblyscript', 'better-sqlite3/package.json'],
  // import.meta of the sources, in CommonJS: this file's URL and folder.
  define: { 'import.meta.url': '__edgewatch_url', 'import.meta.dirname': '__dirname' },
  banner: { js: "const __edgewatch_url = require('node:url').pathToFileURL(__filename).href;" },
  plugins: [onlyEnglishZodMessages, sqliteAddon],
  logLevel: 'warning',
})
await makeCodeCache()

/**
 * Starts `edgewatch serve` once (temporary data directory, a free port), asks /healthz, and stops
 * it: bin/edgewatch.js writes the code cache at exit, holding every function a start compiles.
 */
async function makeCodeCache(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'edgewatch-code-cache-'))
  try {
    // The builder's own EDGEWATCH_* settings (a configuration file, say) play no part in the cache, nor
    // its NODE_OPTIONS: V8 refuses a cache made under other V8 flags than the run's.
    const env = Object.fromEntries(
      Object.entries(process.env).filter(([k]) => !k.startsWith('EDGEWATCH_') && k !== 'NODE_OPTIONS'),
    )
    const child = spawn(process.execPath, [join(root, 'bin', 'edgewatch.js'), 'serve'], {
      env: {
        ...env,
        PORT: '0',
        HOST: '127.0.0.1',
        EDGEWATCH_DATA_DIR: dataDir,
        EDGEWATCH_INGEST_TOKEN: 'code-cache-ingest-token',
        EDGEWATCH_ADMIN_TOKEN: 'code-cache-admin-token',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
    let err = ''
    const url = await new Promise<string | undefined>((resolve) => {
      child.stderr!.on('data', (d: Buffer) => {
        err += d
        const m = /listening on (http:\/\/\S+)/.exec(err)
        if (m) resolve(m[1])
      })
      void exited.then(() => resolve(undefined))
    })
    if (url)
      await new Promise<void>((resolve) =>
        get(`${url}/healthz`, (res) => res.resume().on('end', resolve)).on('error', () => resolve()),
      )
    child.kill('SIGTERM')
    await exited
    // Not fatal: without a cache the first run makes it.
    if (!url) process.stderr.write(`bundle: no code cache made, the server did not start:\n${err}`)
  } finally {
    rmSync(dataDir, { recursive: true, force: true })
  }
}
