// A real crash: the agent runs as its own process writing its outbox to disk, and is killed with
// SIGKILL at arbitrary moments (mid-write, mid-send, between an ack and the delete). Each restart over
// the same state directory must keep its identity and resend what was left, and in the end every batch
// that reached the disk is on the server, none twice.
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { systemClock } from '../agent/clock.js'
import { createFakeServer, type FakeServer } from '../agent/testing/fake-server.js'

let server: FakeServer
let http: Server
let url: string
let stateDir: string

beforeAll(async () => {
  server = createFakeServer({ clock: systemClock })
  http = createServer(async (req, res) => {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    try {
      const answer = await server.fetch(`http://device.test${req.url}`, {
        method: req.method ?? 'GET',
        headers: req.headers as Record<string, string>,
        body: Buffer.concat(chunks).toString('utf8'),
      })
      res.writeHead(answer.status, Object.fromEntries(answer.headers))
      res.end(await answer.text())
    } catch {
      res.destroy()
    }
  })
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
  url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`
  stateDir = await mkdtemp(join(tmpdir(), 'edgewatch-kill-'))
})

afterAll(async () => {
  await new Promise((resolve) => http.close(resolve))
  await rm(stateDir, { recursive: true, force: true })
})

interface Run {
  child: ChildProcess
  lines: Array<Record<string, unknown>>
  exited: Promise<number | null>
}

function run(env: Record<string, string> = {}): Run {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(import.meta.dirname, 'testing/child-agent.ts')],
    {
      env: { ...process.env, EDGEWATCH_URL: url, STATE_DIR: stateDir, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  )
  const lines: Array<Record<string, unknown>> = []
  createInterface({ input: child.stdout! }).on('line', (line) => lines.push(JSON.parse(line)))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  return { child, lines, exited }
}

const until = async (check: () => boolean, ms = 10_000) => {
  const end = Date.now() + ms
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out')
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

describe('agent process killed with SIGKILL', () => {
  it('resends what was left after each kill; every batch that reached the disk is stored once', async () => {
    const sealed = new Map<string, number>()
    const leftAtStart: number[] = []
    const collect = (r: Run) => {
      for (const l of r.lines) if (l.type === 'sealed') sealed.set(l.id as string, l.records as number)
      const started = r.lines.find((l) => l.type === 'started') as { stats: { outboxDepth: number } }
      leftAtStart.push(started.stats.outboxDepth)
    }
    for (let i = 0; i < 3; i++) {
      const r = run()
      await until(() => r.lines.filter((l) => l.type === 'acked').length >= 5)
      // Kill at an arbitrary moment, with the network alternately up and down.
      server.online = i % 2 === 0
      await new Promise((resolve) => setTimeout(resolve, 50 + Math.random() * 100))
      r.child.kill('SIGKILL')
      await r.exited
      server.online = true
      collect(r)
    }
    const last = run({ RUN_MS: '200' })
    expect(await last.exited).toBe(0)
    collect(last)
    const exit = last.lines.find((l) => l.type === 'exit') as { stats: { outboxDepth: number } }
    expect(exit.stats.outboxDepth).toBe(0)

    // The kill while offline left batches behind for the next start.
    expect(leftAtStart[2]).toBeGreaterThan(0)
    expect(server.devices.size).toBe(1)
    expect(server.requests('/v1/device/enrol')).toHaveLength(1)
    expect(server.duplicates()).toEqual([])
    expect(sealed.size).toBeGreaterThan(20)
    for (const [id, records] of sealed) expect(server.batches.get(id)?.records, id).toBe(records)
    // Batches the kill cut off before they were reported sealed may be on the server too, once.
    const stored = [...server.batches.values()].reduce((n, b) => n + b.records, 0)
    expect(server.records.length).toBe(stored)
  })
})
