// The misbehaving (and the two well-behaved) fixture apps for the agent's limit tests: each builds and does
// what its name says under the minimal host. endless-loop runs only in a worker that is terminated.
import { readFileSync } from 'node:fs'
import { Worker } from 'node:worker_threads'
import { beforeAll, describe, expect, it } from 'vitest'
import { appPath, checkAbi, ensureApps } from './build.js'
import { AppTrap, TestHost } from './sdk/test-host.js'
import { DEFAULT_MAX_APP_BYTES } from './wasm/abi.js'
import { parseModule } from './wasm/parse.js'
import { validateApp } from './wasm/validate.js'

beforeAll(ensureApps)

const bytes = (name: string) => readFileSync(appPath(name))
/** How the app breaks the ABI (the validator's reason), or null when it keeps it. */
const refusal = (name: string) => {
  const check = checkAbi(bytes(name))
  return check.ok ? null : check.reason
}

describe('fixtures', () => {
  it('well-behaved: logs at init and emits a counter every tick', async () => {
    const host = await TestHost.start(bytes('well-behaved'), { memoryPages: 1, channels: [] })
    expect(host.init()).toBe(0)
    for (let t = 1; t <= 5; t++) expect(host.tick(t, [])).toBe(0)
    expect(host.emits.map((e) => [e.name, e.value])).toEqual([1, 2, 3, 4, 5].map((n) => ['counter', n]))
    expect(host.logs).toEqual([{ ts: 0, level: 1, message: 'well-behaved: started' }])
  })

  it('slow: a tick of a million rounds of legitimate work, the same result on every host', async () => {
    const results: number[][] = []
    for (let run = 0; run < 2; run++) {
      const host = await TestHost.start(bytes('slow'), { memoryPages: 1, channels: [] })
      for (let t = 1; t <= 3; t++) expect(host.tick(t, [])).toBe(0)
      expect(host.emits.map((e) => e.name)).toEqual(['slow.sum', 'slow.sum', 'slow.sum'])
      results.push(host.emits.map((e) => e.value))
    }
    expect(results[0]).toEqual(results[1])
    for (const sum of results[0]!) expect(sum).toBeGreaterThan(1e6)
    expect(refusal('slow')).toBeNull()
  })

  it('endless-loop: keeps the ABI, and its tick does not return', async () => {
    expect(refusal('endless-loop')).toBeNull()
    const source = `
      const { parentPort, workerData } = require('node:worker_threads')
      const memory = new WebAssembly.Memory({ initial: 1, maximum: 1 })
      WebAssembly.instantiate(workerData, { env: { memory } }).then(({ instance }) => {
        parentPort.postMessage('ticking')
        instance.exports.tick()
        parentPort.postMessage('returned')
      })`
    const worker = new Worker(source, { eval: true, workerData: bytes('endless-loop') })
    const messages: string[] = []
    worker.on('message', (m: string) => messages.push(m))
    await new Promise((resolve) => setTimeout(resolve, 500))
    await worker.terminate()
    expect(messages).toEqual(['ticking'])
  })

  it('memory-hog: grows a page every tick until the host refuses one, then reports an error', async () => {
    const host = await TestHost.start(bytes('memory-hog'), { memoryPages: 4, channels: [] })
    // It has no data, so its import asks for no page at all.
    expect(host.pages()).toBe(0)
    expect([1, 2, 3, 4, 5, 6].map((t) => host.tick(t, []))).toEqual([0, 0, 0, 0, 1, 1])
    expect(host.pages()).toBe(4)
    expect(new Uint8Array(host.memory.buffer).reduce((sum, b) => sum + b, 0)).toBe(4)
  })

  it('trap: three good ticks, then an abort with its message on every tick', async () => {
    const host = await TestHost.start(bytes('trap'), { memoryPages: 1, channels: [] })
    for (let t = 1; t <= 3; t++) expect(host.tick(t, [])).toBe(0)
    expect(() => host.tick(4, [])).toThrow(AppTrap)
    expect(() => host.tick(5, [])).toThrow('abort: trap: deliberate abort after 3 ticks')
  })

  it('huge: over 256 KiB, otherwise a valid app that runs', async () => {
    const module = bytes('huge')
    expect(module.length).toBeGreaterThan(256 * 1024)
    expect(refusal('huge')).toBeNull()
    // A release with the default size limit refuses it for its size alone.
    expect(validateApp(module, { maxBytes: DEFAULT_MAX_APP_BYTES, memoryPages: 6 })).toEqual({
      ok: false,
      reason: `the module is ${module.length} bytes, above the limit of ${DEFAULT_MAX_APP_BYTES} bytes`,
    })
    expect(validateApp(module, { maxBytes: module.length, memoryPages: 6 })).toMatchObject({
      ok: true,
      app: { memoryMin: 6, size: module.length },
    })
    const host = await TestHost.start(module, { memoryPages: 6, channels: [] })
    expect(host.tick(1, [])).toBe(0)
  })

  it('forbidden-import: imports wasi_snapshot_preview1.fd_write, so the ABI host cannot link it', async () => {
    expect(refusal('forbidden-import')).toBe('forbidden import wasi_snapshot_preview1.fd_write')
    await expect(TestHost.start(bytes('forbidden-import'), { memoryPages: 1, channels: [] })).rejects.toThrow(
      /wasi_snapshot_preview1/,
    )
  })

  it('own-memory: defines and exports its own memory, imports none', () => {
    expect(refusal('own-memory')).toBe('the module defines its own memory; an app must import env.memory')
    const m = parseModule(bytes('own-memory'))
    expect(m.memories).toHaveLength(1)
    expect(m.imports.filter((i) => i.kind === 'memory')).toEqual([])
    const exports = WebAssembly.Module.exports(new WebAssembly.Module(bytes('own-memory')))
    expect(exports).toContainEqual({ name: 'memory', kind: 'memory' })
  })

  it('no-tick: keeps the ABI but for the tick export', async () => {
    expect(refusal('no-tick')).toBe('the module does not export tick')
    const host = await TestHost.start(bytes('no-tick'), { memoryPages: 1, channels: [] })
    expect(host.has('tick')).toBe(false)
    expect(host.init()).toBe(0)
  })

  it('none has a start section: _initialize is exported instead', () => {
    for (const name of ['well-behaved', 'slow', 'endless-loop', 'memory-hog', 'trap', 'huge', 'no-tick']) {
      const m = parseModule(bytes(name))
      expect(m.start, name).toBeNull()
      expect(
        m.exports.map((e) => e.name),
        name,
      ).toContain('_initialize')
    }
  })
})
