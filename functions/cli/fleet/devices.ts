// `fleet tokens ...` and `fleet devices ...`: enrolment tokens (made, listed, revoked) and devices
// (listed, shown with their recent events, named and labelled, revoked).
import { DEVICE_STATUSES } from '../../domain/types.js'
import type { Page } from './client.js'
import { type Command, count, duration, labelsOf, UsageError } from './command.js'
import { clean, labelText, lines, more, table, when } from './format.js'

/** Events shown by `devices show`. */
const RECENT_EVENTS = 20

interface EnrolmentToken {
  id: string
  labels: Record<string, string>
  maxUses: number
  uses: number
  expiresAt: string
  createdAt: string
  revokedAt: string | null
}

interface Device {
  deviceId: string
  status: string
  name: string | null
  labels: Record<string, string>
  firstSeen: string
  lastSeen: string | null
  lastTs: string | null
  recordCount: number
  anomalyCount: number
  enrolledAt: string | null
  lastHeartbeat: string | null
  agentVersion: string | null
  heartbeat: Record<string, unknown> | null
}

interface DeviceEvent {
  id: number
  deviceId: string
  ts: string
  kind: string
  detail: string | null
}

const path = {
  tokens: '/v1/fleet/enrolment-tokens',
  token: (id: string) => `/v1/fleet/enrolment-tokens/${encodeURIComponent(id)}`,
  devices: '/v1/devices',
  device: (id: string) => `/v1/devices/${encodeURIComponent(id)}`,
}

export const DEVICE_COMMANDS: Record<string, Command> = {
  'tokens create': {
    usage: 'tokens create [--label k=v]... [--max-uses N] [--expires-in 24h]',
    flags: ['label', 'max-uses', 'expires-in'],
    ids: 0,
    check(values) {
      if (values['max-uses'] !== undefined) count(values['max-uses'], '--max-uses')
      if (values['expires-in'] !== undefined) duration(values['expires-in'], '--expires-in')
    },
    async run(c, { values }) {
      const body: Record<string, unknown> = {}
      if (values.label) body.labels = labelsOf(values.label)
      if (values['max-uses'] !== undefined) body.maxUses = count(values['max-uses'], '--max-uses')
      if (values['expires-in'] !== undefined) body.expiresIn = values['expires-in']
      const t = await c.call<EnrolmentToken & { token: string }>('POST', path.tokens, body)
      c.print(t, () =>
        lines(
          `enrolment token ${t.id}: labels ${labelText(t.labels)}; ${t.maxUses} use${t.maxUses === 1 ? '' : 's'}; expires ${when(t.expiresAt)}`,
          `token: ${t.token}`,
          'This token is shown once: the server keeps only its hash. Devices enrol with it.',
        ),
      )
    },
  },
  'tokens list': {
    usage: 'tokens list [--limit N]',
    flags: ['limit'],
    ids: 0,
    async run(c, { values }) {
      const limit = values.limit === undefined ? undefined : count(values.limit, '--limit')
      const page = await c.collect<EnrolmentToken>(path.tokens, new URLSearchParams(), limit)
      const now = c.io.now()
      c.print(page, () =>
        page.items.length === 0
          ? 'no enrolment tokens\n'
          : table(
              ['ID', 'STATE', 'USES', 'LABELS', 'EXPIRES', 'CREATED'],
              page.items.map((t) => [
                t.id,
                tokenState(t, now),
                `${t.uses}/${t.maxUses}`,
                labelText(t.labels),
                when(t.expiresAt),
                when(t.createdAt),
              ]),
            ) + more(page, 'tokens'),
      )
    },
  },
  'tokens revoke': {
    usage: 'tokens revoke ID',
    flags: [],
    ids: 1,
    async run(c, { id }) {
      const t = await c.call<EnrolmentToken>('POST', `${path.token(id)}/revoke`)
      c.print(t, () =>
        lines(
          `revoked enrolment token ${t.id} (used ${t.uses} of ${t.maxUses}; revoked ${when(t.revokedAt)})`,
        ),
      )
    },
  },
  'devices list': {
    usage: 'devices list [--status S] [--label k=v] [--limit N]',
    flags: ['status', 'label', 'limit'],
    ids: 0,
    check(values) {
      if (values.status !== undefined && !(DEVICE_STATUSES as readonly string[]).includes(values.status))
        throw new UsageError(`--status must be one of ${DEVICE_STATUSES.join(', ')}`)
      if ((values.label?.length ?? 0) > 1) throw new UsageError('devices list filters on one --label')
    },
    async run(c, { values }) {
      const limit = values.limit === undefined ? undefined : count(values.limit, '--limit')
      const query = new URLSearchParams()
      if (values.status) query.set('status', values.status)
      if (values.label?.[0] !== undefined) query.set('label', values.label[0])
      const page = await c.collect<Device>(path.devices, query, limit)
      c.print(page, () =>
        page.items.length === 0
          ? 'no devices\n'
          : table(
              ['ID', 'STATUS', 'NAME', 'LABELS', 'LAST HEARTBEAT', 'RECORDS'],
              page.items.map((d) => [
                d.deviceId,
                d.status,
                d.name ?? '-',
                labelText(d.labels),
                when(d.lastHeartbeat),
                String(d.recordCount),
              ]),
            ) + more(page, 'devices'),
      )
    },
  },
  'devices show': {
    usage: 'devices show ID',
    flags: [],
    ids: 1,
    async run(c, { id }) {
      const device = await c.call<Device>('GET', path.device(id))
      const events = await c.call<Page<DeviceEvent>>(
        'GET',
        `${path.device(id)}/events?limit=${RECENT_EVENTS}`,
      )
      c.print({ device, events }, () => {
        const fields = deviceFields(device)
        const eventLines = events.items.length
          ? table(
              ['  TIME', 'EVENT', 'DETAIL'],
              events.items.map((e) => ['  ' + when(e.ts), e.kind, e.detail ?? '']),
            )
          : '  none\n'
        return (
          fields +
          `\nrecent events (newest first${events.next ? `, the ${RECENT_EVENTS} newest` : ''}):\n` +
          eventLines
        )
      })
    },
  },
  'devices label': {
    usage: 'devices label ID [--name NAME] [--label k=v]...',
    flags: ['name', 'label'],
    ids: 1,
    check(values) {
      if (values.name === undefined && !values.label)
        throw new UsageError('give --name NAME or --label k=v (or both)')
    },
    async run(c, { id, values }) {
      const body: Record<string, unknown> = {}
      if (values.name !== undefined) body.name = values.name
      if (values.label) body.labels = labelsOf(values.label)
      const d = await c.call<Device>('PATCH', path.device(id), body)
      c.print(d, () =>
        lines(`updated device ${d.deviceId}: name ${d.name ?? '-'}; labels ${labelText(d.labels)}`),
      )
    },
  },
  'devices revoke': {
    usage: 'devices revoke ID',
    flags: [],
    ids: 1,
    async run(c, { id }) {
      const d = await c.call<Device>('POST', `${path.device(id)}/revoke`)
      c.print(d, () => lines(`revoked device ${d.deviceId} (status ${d.status}): its tokens no longer work`))
    },
  },
}

function deviceFields(d: Device): string {
  const rows: [string, string][] = [
    ['device', d.deviceId],
    ['status', d.status],
    ['name', d.name ?? '-'],
    ['labels', labelText(d.labels)],
    ['enrolled', when(d.enrolledAt)],
    ['first seen', when(d.firstSeen)],
    ['last record', d.lastSeen ? `${when(d.lastSeen)} (record time ${when(d.lastTs)})` : '-'],
    ['records', `${d.recordCount} (${d.anomalyCount} anomalies)`],
    ['last heartbeat', when(d.lastHeartbeat)],
    ['agent version', d.agentVersion ?? '-'],
    ['heartbeat', d.heartbeat ? JSON.stringify(d.heartbeat) : '-'],
  ]
  const width = Math.max(...rows.map(([k]) => k.length))
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${clean(v)}`).join('\n') + '\n'
}

function tokenState(t: EnrolmentToken, now: number): string {
  if (t.revokedAt) return 'revoked'
  if (t.uses >= t.maxUses) return 'used up'
  if (Date.parse(t.expiresAt) <= now) return 'expired'
  return 'active'
}
