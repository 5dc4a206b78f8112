// Integration: the real Node server process with a temporary SQLite file.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { type ServerProcess, startServer } from '../../test/server-process.js'

const tokens = { EDGEWATCH_INGEST_TOKEN: 'it-ingest-token-01', EDGEWATCH_ADMIN_TOKEN: 'it-admin-token-001' }
const dirs: string[] = []
const servers: ServerProcess[] = []
afterEach(async () => {
  for (const s of servers.splice(0)) if (s.child.exitCode === null) await s.stop('SIGKILL')
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

async function start(env: Record<string, string> = tokens, dir?: string) {
  const dataDir = dir ?? mkdtempSync(join(tmpdir(), 'edgewatch-it-'))
  if (!dir) dirs.push(dataDir)
  const server = await startServer({ EDGEWATCH_DATA_DIR: dataDir, ...env })
  servers.push(server)
  return { server, dataDir }
}

const rows = (n: number, from = 0) =>
  Array.from({ length: n }, (_, i) => {
    const k = from + i
    return JSON.stringify({
      deviceId: `dev-${k % 3}`,
      ts: 1_700_000_000_000 + k * 1000,
      temp: k === 200 ? 90 : 20 + Math.sin(k) * 0.4,
      seq: k,
    })
  }).join('\n')

const ingest = (url: string, body: string, headers: Record<string, string> = {}) =>
  fetch(`${url}/v1/ingest`, {
    method: 'POST',
    body,
    headers: {
      Authorization: 'Bearer it-ingest-token-01',
      'Content-Type': 'application/x-ndjson',
      ...headers,
    },
  })
const admin = (url: string, path: string) =>
  fetch(`${url}${path}`, { headers: { Authorization: 'Bearer it-admin-token-001' } })

describe('the Node server', () => {
  it('ingests, finds anomalies and exports them back', async () => {
    const { server } = await start()
    const res = await ingest(server.url, rows(600))
    expect(res.status).toBe(200)
    const out = (await res.json()) as { accepted: number; anomalies: { kind: string; deviceId: string }[] }
    expect(out.accepted).toBe(600)
    expect(out.anomalies).toContainEqual(expect.objectContaining({ kind: 'high_temp', deviceId: 'dev-2' }))
    const listed = (await (await admin(server.url, '/v1/anomalies?kind=high_temp')).json()) as {
      items: unknown[]
    }
    expect(listed.items).toHaveLength(1)
    const exported = (await (await admin(server.url, '/v1/export')).text()).trim().split('\n')
    expect(JSON.parse(exported.pop()!)).toEqual({ export: { complete: true, records: 600 } })
    expect(exported).toHaveLength(600)
    const first = JSON.parse(exported[0]!) as {
      deviceId: string
      seq: number
      score: number
      anomalies: string
    }
    expect(first).toMatchObject({ deviceId: 'dev-0', seq: 0, anomalies: '' })
    expect((await fetch(`${server.url}/v1/anomalies`)).status).toBe(401)
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200)
    const logLines = server
      .stdout()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { path: string })
    expect(logLines.map((l) => l.path)).toEqual([
      '/v1/ingest',
      '/v1/anomalies',
      '/v1/export',
      '/v1/anomalies',
      '/readyz',
    ])
  })

  it('keeps every acknowledged record across a crash and restart, and honours idempotency after it', async () => {
    const { server, dataDir } = await start()
    for (let b = 0; b < 5; b++) {
      const res = await ingest(server.url, rows(200, b * 200), { 'Idempotency-Key': `batch-${b}` })
      expect(res.status).toBe(200)
    }
    await server.stop('SIGKILL')
    const { server: again } = await start(tokens, dataDir)
    const exported = (await (await admin(again.url, '/v1/export')).text()).trim().split('\n')
    expect(exported).toHaveLength(1000 + 1)
    const replay = await ingest(again.url, rows(200, 800), { 'Idempotency-Key': 'batch-4' })
    expect(replay.headers.get('idempotent-replayed')).toBe('true')
    const devices = (await (await admin(again.url, '/v1/devices')).json()) as {
      items: { recordCount: number }[]
    }
    expect(devices.items.reduce((n, d) => n + d.recordCount, 0)).toBe(1000)
  })

  it('continues detector state across a restart exactly', async () => {
    const straight = await start()
    await ingest(straight.server.url, rows(400))
    const expected = await (await admin(straight.server.url, '/v1/export')).text()

    const split = await start()
    await ingest(split.server.url, rows(250))
    await split.server.stop('SIGTERM')
    const resumed = await start(tokens, split.dataDir)
    await ingest(resumed.server.url, rows(150, 250))
    expect(await (await admin(resumed.server.url, '/v1/export')).text()).toBe(expected)
  })

  it('generates tokens when none are set, keeps them and prints them once, when they are made', async () => {
    const { server, dataDir } = await start({})
    const file = join(dataDir, 'tokens.json')
    expect(existsSync(file)).toBe(true)
    const kept = JSON.parse(readFileSync(file, 'utf8')) as { ingest: string; admin: string }
    expect(server.stderr()).toContain(kept.admin)
    const res = await fetch(`${server.url}/v1/devices`, {
      headers: { Authorization: `Bearer ${kept.admin}` },
    })
    expect(res.status).toBe(200)
    await server.stop('SIGTERM')
    const { server: again } = await start({}, dataDir)
    expect(again.stderr()).not.toContain(kept.admin)
    expect(again.stderr()).not.toContain(kept.ingest)
    expect(again.stderr()).toContain(`admin from ${file}`)
    expect(again.stdout()).not.toContain(kept.admin)
  })

  it('never writes a token from the environment to disk, and generates only the role left unset', async () => {
    const { server, dataDir } = await start({ EDGEWATCH_ADMIN_TOKEN: tokens.EDGEWATCH_ADMIN_TOKEN })
    const kept = JSON.parse(readFileSync(join(dataDir, 'tokens.json'), 'utf8')) as Record<string, string>
    expect(Object.keys(kept)).toEqual(['ingest'])
    expect(readFileSync(join(dataDir, 'tokens.json'), 'utf8')).not.toContain(tokens.EDGEWATCH_ADMIN_TOKEN)
    expect(server.stderr()).not.toContain(tokens.EDGEWATCH_ADMIN_TOKEN)
    expect(server.stderr()).toContain('admin from EDGEWATCH_ADMIN_TOKEN')
  })

  it('accepts several tokens per role, so one can be rotated without downtime', async () => {
    const { server } = await start({
      ...tokens,
      EDGEWATCH_ADMIN_TOKEN: `${tokens.EDGEWATCH_ADMIN_TOKEN}, the-next-admin-token`,
    })
    for (const token of [tokens.EDGEWATCH_ADMIN_TOKEN, 'the-next-admin-token'])
      expect(
        (await fetch(`${server.url}/v1/devices`, { headers: { Authorization: `Bearer ${token}` } })).status,
      ).toBe(200)
  })

  it('refuses a bad configuration with a clear message', async () => {
    await expect(start({ ...tokens, EDGEWATCH_RETENTION: 'forever' })).rejects.toThrow(/EDGEWATCH_RETENTION/)
    await expect(start({ ...tokens, EDGEWATCH_INGEST_TOKEN: '' })).rejects.toThrow(
      /EDGEWATCH_INGEST_TOKEN is empty/,
    )
    await expect(start({ ...tokens, EDGEWATCH_ADMIN_TOKEN: 'short' })).rejects.toThrow(
      /EDGEWATCH_ADMIN_TOKEN: a token is 5 characters long; use at least 16/,
    )
    await expect(start({ ...tokens, EDGEWATCH_CONFIG: '{"detectors":{"outliar":{"z":5}}}' })).rejects.toThrow(
      /detectors: Unrecognized key: "outliar"/,
    )
  })
})
