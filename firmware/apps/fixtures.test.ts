// The misbehaving (and the two well-behaved) fixture apps for the agent's limit tests: each builds and does
// what its name says under the minimal host. endless-loop runs only in a worker that is terminated.
import { readFileSync } from 'node:fs'
import { Worker } from 'node:worker_threads'
import { beforeAll, describe, expect, it } from 'vitest'
import { appPath, ensureApps } from './build.js'
import { abiProblems, inspectModule } from './sdk/module-info.js'
import { AppTrap, TestHost } from './sdk/test-host.js'

beforeAll(ensureApps)

const bytes = (name: string) => readFileSync(appPath(name))
const problems = (name: string) => abiProblems(inspectModule(bytes(name)))

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
    expect(problems('slow')).toEqual([])
  })

  it('endless-loop: keeps the ABI, and its tick does not return', async () => {
    expect(problems('endless-loop')).toEqual([])
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
    expect(problems('huge')).toEqual([])
    const min = inspectModule(module).imports.find((i) => i.kind === 'memory')?.memory?.min
    expect(min).toBe(6)
    const host = await TestHost.start(module, { memoryPages: 6, channels: [] })
    expect(host.tick(1, [])).toBe(0)
  })

  it('forbidden-import: imports wasi_snapshot_preview1.fd_write, so the ABI host cannot link it', async () => {
    expect(problems('forbidden-import')).toEqual([
      'imports wasi_snapshot_preview1.fd_write, which the ABI does not provide',
    ])
    await expect(TestHost.start(bytes('forbidden-import'), { memoryPages: 1, channels: [] })).rejects.toThrow(
      /wasi_snapshot_preview1/,
    )
  })

  it('own-memory: defines and exports its own memory, imports none', () => {
    expect(problems('own-memory')).toEqual([
      'does not import env.memory (asc --importMemory)',
      'defines its own memory',
      'exports memory, which the host never calls',
    ])
    const exports = WebAssembly.Module.exports(new WebAssembly.Module(bytes('own-memory')))
    expect(exports).toContainEqual({ name: 'memory', kind: 'memory' })
  })

  it('no-tick: keeps the ABI but for the tick export', async () => {
    expect(problems('no-tick')).toEqual(['does not export tick'])
    const host = await TestHost.start(bytes('no-tick'), { memoryPages: 1, channels: [] })
    expect(host.has('tick')).toBe(false)
    expect(host.init()).toBe(0)
  })

  it('none has a start section: _initialize is exported instead', () => {
    for (const name of ['well-behaved', 'slow', 'endless-loop', 'memory-hog', 'trap', 'huge', 'no-tick']) {
      const info = inspectModule(bytes(name))
      expect(info.hasStart, name).toBe(false)
      expect(
        info.exports.map((e) => e.name),
        name,
      ).toContain('_initialize')
    }
  })
})
