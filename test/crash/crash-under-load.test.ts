// Ack means durable, under load: concurrent clients stream batches into the real `edgewatch serve`,
// the process is killed with SIGKILL while commits are in flight (on the writer thread, with the
// next group being analysed), and after a restart every acknowledged record is stored, none twice,
// nothing that was never sent, and the device counters agree with the records.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { type ServerProcess, startServer } from '../server-process.js'

const tokens = {
  EDGEWATCH_INGEST_TOKEN: 'crash-ingest-token-1',
  EDGEWATCH_ADMIN_TOKEN: 'crash-admin-token-01',
}
const CLIENTS = 6
const BATCH = 400
const DEVICES = 25
const T0 = Date.UTC(2026, 10, 1)

const dataDir = mkdtempSync(join(tmpdir(), 'edgewatch-crash-'))
const servers: ServerProcess[] = []
afterAll(async () => {
  for (const s of servers) if (s.child.exitCode === null) await s.stop('SIGKILL')
  rmSync(dataDir, { recursive: true, force: true })
})

async function start(): Promise<ServerProcess> {
  const server = await startServer({ EDGEWATCH_DATA_DIR: dataDir, ...tokens })
  servers.push(server)
  return server
}

/** Batch `b` of client `c`: records numbered n = (c, b, i), time moving forward per device. */
function body(c: number, b: number): string {
  const lines: string[] = []
  for (let i = 0; i < BATCH; i++) {
    const n = (c * 1_000_000 + b) * BATCH + i
    const k = b * BATCH + i
    lines.push(
      JSON.stringify({
        deviceId: `crash-${c}-${k % DEVICES}`,
        ts: T0 + Math.floor(k / DEVICES) * 1000,
        temp: 20 + Math.sin(k / 7) + (k % 97 === 0 ? 30 : 0),
        n,
      }),
    )
  }
  return lines.join('\n')
}

describe('a crash under load', () => {
  it('keeps every acknowledged record exactly once', async () => {
    const server = await start()
    const sent = new Set<number>()
    const acknowledged: number[] = []
    let stop = false
    const client = async (c: number) => {
      for (let b = 0; !stop; b++) {
        for (let i = 0; i < BATCH; i++) sent.add((c * 1_000_000 + b) * BATCH + i)
        try {
          const res = await fetch(`${server.url}/v1/ingest`, {
            method: 'POST',
            body: body(c, b),
            headers: {
              Authorization: `Bearer ${tokens.EDGEWATCH_INGEST_TOKEN}`,
              'Content-Type': 'application/x-ndjson',
            },
          })
          if (res.status !== 200) throw new Error(`status ${res.status}: ${await res.text()}`)
          await res.arrayBuffer()
          for (let i = 0; i < BATCH; i++) acknowledged.push((c * 1_000_000 + b) * BATCH + i)
        } catch (e) {
          if (stop) return // the server died under this request: not acknowledged
          throw e
        }
      }
    }
    const clients = Array.from({ length: CLIENTS }, (_, c) => client(c))
    // Kill once a good number of batches are committed, while every client has one in flight.
    while (acknowledged.length < 40 * BATCH) await new Promise((r) => setTimeout(r, 20))
    stop = true
    await server.stop('SIGKILL')
    await Promise.all(clients)

    const again = await start()
    const res = await fetch(`${again.url}/v1/export?order=arrival`, {
      headers: { Authorization: `Bearer ${tokens.EDGEWATCH_ADMIN_TOKEN}` },
    })
    const lines = (await res.text()).trim().split('\n')
    expect(JSON.parse(lines.pop()!)).toMatchObject({ export: { complete: true } })
    const stored = new Map<number, number>()
    for (const line of lines) {
      const n = (JSON.parse(line) as { n: number }).n
      stored.set(n, (stored.get(n) ?? 0) + 1)
    }
    const twice = [...stored].filter(([, times]) => times > 1)
    expect(twice, 'records stored twice').toEqual([])
    const lost = acknowledged.filter((n) => !stored.has(n))
    expect(lost, 'acknowledged records lost').toEqual([])
    const invented = [...stored.keys()].filter((n) => !sent.has(n))
    expect(invented, 'records never sent').toEqual([])
    // Some batches were in flight at the kill: stored or not, but whole (a commit is atomic).
    const batches = new Set([...stored.keys()].map((n) => Math.floor(n / BATCH)))
    for (const cb of batches) {
      const whole = Array.from({ length: BATCH }, (_, i) => cb * BATCH + i)
      expect(
        whole.every((n) => stored.has(n)),
        `batch ${cb} stored whole`,
      ).toBe(true)
    }
    const devices = (await (
      await fetch(`${again.url}/v1/devices?limit=1000`, {
        headers: { Authorization: `Bearer ${tokens.EDGEWATCH_ADMIN_TOKEN}` },
      })
    ).json()) as { items: { recordCount: number }[] }
    expect(devices.items.reduce((n, d) => n + d.recordCount, 0)).toBe(stored.size)
    expect(stored.size).toBeGreaterThanOrEqual(acknowledged.length)
  })
})
