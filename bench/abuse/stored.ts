// What the server stored, counted after the flood: records per device from GET /v1/devices (every
// page), and the good devices' records again, batch by batch, from GET /v1/export.
import { Agent } from 'node:http'
import { send } from './http.js'
import type { GoodLedger, LedgerSummary } from './ledger.js'

export interface Stored {
  /** Records of the good devices, by /v1/devices. */
  good: number
  /** Records of any other device (hostile bodies must store none). */
  hostile: number
  /** Records of the good devices, by export; with the ledger's audit of them. */
  goodExport?: number
  audit?: LedgerSummary
}

interface Options {
  port: number
  timeoutMs: number
  signal: AbortSignal
  adminToken: string
  ledger: GoodLedger
  notes: string[]
}

/** The counts, or undefined when the server did not answer /v1/devices (then `notes` says why). */
export async function countStored(o: Options): Promise<Stored | undefined> {
  const agent = new Agent({ keepAlive: true })
  try {
    return await count(o, agent)
  } finally {
    agent.destroy()
  }
}

async function count(o: Options, agent: Agent): Promise<Stored | undefined> {
  const get = { port: o.port, timeoutMs: o.timeoutMs, signal: o.signal, agent, method: 'GET' }
  const headers = { authorization: `Bearer ${o.adminToken}` }
  const devices: { deviceId: string; recordCount: number }[] = []
  let cursor: string | null = null
  do {
    const path: string = `/v1/devices?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`
    const a = await send({ ...get, path, headers, keep: 64 << 20 })
    if (a.status !== 200) {
      o.notes.push(`GET /v1/devices answered ${a.status}: ${(a.error ?? a.body).slice(0, 200)}`)
      return undefined
    }
    const page = JSON.parse(a.body) as { items: typeof devices; next: string | null }
    devices.push(...page.items)
    cursor = page.next
  } while (cursor)
  const sum = (ds: typeof devices) => ds.reduce((n, d) => n + d.recordCount, 0)
  const hostile = devices.filter((d) => !o.ledger.isGood(d.deviceId) && d.recordCount > 0)
  if (hostile.length)
    o.notes.push(`devices of hostile bodies with records: ${hostile.map((d) => d.deviceId).join(', ')}`)
  const stored: Stored = {
    good: sum(devices.filter((d) => o.ledger.isGood(d.deviceId))),
    hostile: sum(hostile),
  }

  let total = 0
  for (const deviceId of o.ledger.goodDevices) {
    const path = `/v1/export?deviceId=${encodeURIComponent(deviceId)}`
    const decoder = new TextDecoder()
    let rest = ''
    let records = 0
    let malformed = 0
    // A server may end its export with {"export":{"complete":true,"records":N}} or {"error":{…}}.
    let end: { export?: { records?: number }; error?: unknown } | undefined
    const onData = (chunk: Buffer) => {
      const lines = (rest + decoder.decode(chunk, { stream: true })).split('\n')
      rest = lines.pop()!
      for (const line of lines) {
        if (!line) continue
        let value: Record<string, unknown>
        try {
          value = JSON.parse(line) as Record<string, unknown>
        } catch {
          malformed++
          continue
        }
        if ('export' in value || 'error' in value) end = value
        else {
          o.ledger.exported(value)
          records++
        }
      }
    }
    const a = await send({ ...get, path, headers, onData, keep: 0 })
    if (a.status !== 200 || a.error || end?.error || rest || malformed) {
      const why =
        a.error ??
        (end?.error
          ? JSON.stringify(end.error)
          : rest
            ? 'a cut line'
            : malformed
              ? `${malformed} lines not JSON`
              : '')
      o.notes.push(`GET ${path} answered ${a.status} ${why}`.trim().slice(0, 300))
      return stored
    }
    if (end?.export && end.export.records !== records)
      o.notes.push(`export of ${deviceId} says ${end.export.records} records and holds ${records}`)
    total += records
  }
  return { ...stored, goodExport: total, audit: o.ledger.summary() }
}
