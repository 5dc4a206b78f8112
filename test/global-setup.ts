// Builds the kernels, the Wasm apps, the compiled CLI, the web app and the Spin components once before any test file runs, so
// that tests never race to build them and the integration tests run exactly what users run.
import { execFileSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { buildKernels, projectRoot } from '../kernels/node.js'

export default function setup(): void {
  buildKernels()
  // The Wasm apps: the examples and the misbehaving fixtures the agent and the server are tested with.
  execFileSync('npm', ['run', '--silent', 'build:apps'], { cwd: projectRoot(), stdio: 'inherit' })
  const tsx = createRequire(import.meta.url).resolve('tsx/cli')
  execFileSync(process.execPath, [tsx, 'functions/cli/bundle.ts'], { cwd: projectRoot(), stdio: 'inherit' })
  // The replay tool, served by `edgewatch serve` at /app/ in the browser tests.
  execFileSync('npm', ['run', '--silent', 'build:web'], { cwd: projectRoot(), stdio: 'inherit' })
  // The Spin components, so the contract suite always runs the current code on every runtime.
  execFileSync('npm', ['run', '--silent', 'build:spin'], { cwd: projectRoot(), stdio: 'inherit' })
}
