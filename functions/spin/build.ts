// npm run build:spin: dist/spin/edgewatch.wasm (the Hono app, componentized by the Spin JS
// build-tools) and dist/spin/kernel.wasm (the kernel component, kernels/component/build.ts).
// `j2w` exits 0 even when componentization fails, so its output is checked here.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { SpinEsbuildPlugin } from '@spinframework/build-tools/plugins/esbuild/index.js'
import { build } from 'esbuild'
import { buildKernelComponent } from '../../kernels/component/build.js'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..', '..')
const out = join(root, 'dist', 'spin')
const bundle = join(out, 'build', 'bundle.js')
const app = join(out, 'edgewatch.wasm')
// The build-tools read the WIT worlds to merge from the package.json of the current directory.
const witDir = join(here, 'componentize')

async function main() {
  const t0 = performance.now()
  mkdirSync(join(out, 'build'), { recursive: true })
  const kernel = await buildKernelComponent(join(out, 'kernel.wasm'))
  console.log(`kernel.wasm: ${kernel.component.length} B in ${kernel.ms.toFixed(0)} ms`)

  const t1 = performance.now()
  const cwd = process.cwd()
  process.chdir(witDir)
  const plugin = await SpinEsbuildPlugin()
  process.chdir(cwd)
  await build({
    entryPoints: [join(here, 'index.ts')],
    outfile: bundle,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: false,
    plugins: [plugin],
    logLevel: 'error',
  })
  console.log(`bundle: ${statSync(bundle).size} B in ${(performance.now() - t1).toFixed(0)} ms`)

  const t2 = performance.now()
  const j2w = createRequire(join(root, 'package.json')).resolve('@spinframework/build-tools/dist/index.js')
  const result = spawnSync(
    process.execPath,
    [j2w, '-i', bundle, '-o', app, '--initLocation', 'http://edgewatch.localhost'],
    { cwd: witDir, encoding: 'utf8' },
  )
  const log = `${result.stdout}${result.stderr}`
  const written = log.includes('Component successfully written') || log.includes('No changes detected')
  if (result.status !== 0 || log.includes('An error occurred') || !written || !existsSync(app)) {
    process.stderr.write(log)
    throw new Error('componentize failed: dist/spin/edgewatch.wasm was not written')
  }
  console.log(`edgewatch.wasm: ${statSync(app).size} B in ${(performance.now() - t2).toFixed(0)} ms`)
  console.log(`build:spin done in ${(performance.now() - t0).toFixed(0)} ms`)
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e)
  process.exit(1)
})
