// One MCU's card: status light, sparklines, apps with fuel and memory meters, outbox depth, the
// device's verdicts (edge-detect) beside the server's, and its controls. Cards are made once per slot
// of the visible page and filled again on each refresh (no node is created per update).
import type { McuView, Verdict } from '../../../firmware/browser/mcu-shard.js'

export const FAULT_KINDS = [
  'spike',
  'drift',
  'stuck',
  'noise',
  'valve',
  'cavitation',
  'bearing',
  'leak',
] as const
const EQUIPMENT = new Set(['valve', 'cavitation', 'bearing', 'leak'])

export interface CardActions {
  control(index: number, action: string): void
  fault(index: number, kind: string, channel: string, durationS: number): void
  select(index: number, on: boolean): void
}

const h = <K extends keyof HTMLElementTagNameMap>(tag: K, cls?: string, text?: string) => {
  const el = document.createElement(tag)
  if (cls) el.className = cls
  if (text !== undefined) el.textContent = text
  return el
}

export class Card {
  readonly root = h('article', 'mcu')
  private index = -1
  private readonly check = h('input')
  private readonly light = h('span', 'light')
  private readonly title = h('span', 'title')
  private readonly id = h('span', 'device-id')
  private readonly canvas = h('canvas', 'spark')
  private readonly figures = h('div', 'figures')
  private readonly apps = h('div', 'apps')
  private readonly edge = h('ol', 'verdicts')
  private readonly server = h('ol', 'verdicts')
  private readonly power = h('button', undefined, 'power off')
  private readonly net = h('button', undefined, 'cut network')
  private readonly kind = h('select')
  private readonly channel = h('select')
  private readonly duration = h('input')
  private channels = ''
  /** What was drawn last, to skip what has not changed. */
  private readonly drawn = { apps: '', verdicts: '', series: '' }

  constructor(actions: CardActions) {
    this.check.type = 'checkbox'
    this.check.className = 'pick'
    this.check.addEventListener('change', () => actions.select(this.index, this.check.checked))
    const head = h('header')
    head.append(this.check, this.light, this.title, this.id)
    this.canvas.width = 260
    this.canvas.height = 84
    const verdicts = h('div', 'both')
    const edgeBox = h('div')
    edgeBox.append(h('h4', undefined, 'device (edge-detect)'), this.edge)
    const serverBox = h('div')
    serverBox.append(h('h4', undefined, 'server'), this.server)
    verdicts.append(edgeBox, serverBox)
    for (const k of FAULT_KINDS) this.kind.append(new Option(k, k))
    this.duration.type = 'number'
    this.duration.min = '1'
    this.duration.value = '60'
    this.duration.title = 'duration, s'
    this.kind.addEventListener('change', () => {
      this.channel.disabled = EQUIPMENT.has(this.kind.value)
    })
    const controls = h('div', 'controls')
    const button = (text: string, action: string) => {
      const b = h('button', undefined, text)
      b.dataset.action = action
      b.addEventListener('click', () => actions.control(this.index, action))
      return b
    }
    this.power.dataset.action = 'power'
    this.power.addEventListener('click', () =>
      actions.control(this.index, this.power.textContent === 'power off' ? 'power-off' : 'power-on'),
    )
    this.net.dataset.action = 'network'
    this.net.addEventListener('click', () =>
      actions.control(this.index, this.net.textContent === 'cut network' ? 'cut' : 'restore'),
    )
    const inject = h('button', undefined, 'inject')
    inject.dataset.action = 'fault'
    inject.addEventListener('click', () =>
      actions.fault(this.index, this.kind.value, this.channel.value, Number(this.duration.value)),
    )
    controls.append(
      button('reboot', 'reboot'),
      this.power,
      this.net,
      this.kind,
      this.channel,
      this.duration,
      inject,
    )
    this.root.append(head, this.canvas, this.figures, this.apps, verdicts, controls)
  }

  fill(v: McuView, selected: boolean): void {
    this.index = v.index
    this.root.dataset.index = String(v.index)
    this.root.dataset.status = v.status
    this.check.checked = selected
    this.light.className = `light ${v.network ? v.status : 'cut'}`
    this.light.title = v.network ? v.status : `${v.status}, network cut`
    this.title.textContent = `${v.name} · ${v.sensor}`
    this.id.textContent = v.deviceId ?? 'not enrolled'
    this.power.textContent = v.power === 'on' ? 'power off' : 'power on'
    this.net.textContent = v.network ? 'cut network' : 'restore network'
    const channels = v.channels.join(',')
    if (channels !== this.channels) {
      this.channels = channels
      this.channel.replaceChildren(new Option('(any)', ''), ...v.channels.map((c) => new Option(c, c)))
    }
    this.figures.textContent = `readings ${v.readings} · acked ${v.acked} · outbox ${v.outbox}${v.dropped ? ` · dropped ${v.dropped}` : ''}${v.retries ? ` · retries ${v.retries}` : ''}`
    this.figures.dataset.outbox = String(v.outbox)
    // Only what changed is touched: most refreshes change the figures and the sparklines alone.
    const apps = JSON.stringify([v.index, v.apps, v.instances])
    if (apps !== this.drawn.apps) {
      this.drawn.apps = apps
      this.fillApps(v)
    }
    const verdicts = `${v.index} ${v.edgeAnomalies} ${v.serverAnomalies}`
    if (verdicts !== this.drawn.verdicts) {
      this.drawn.verdicts = verdicts
      fillVerdicts(this.edge, v.edge, v.edgeAnomalies)
      fillVerdicts(this.server, v.server, v.serverAnomalies)
    }
    const last = v.series[0]?.at(-1)
    const series = `${v.index} ${v.readings} ${last}`
    if (series !== this.drawn.series) {
      this.drawn.series = series
      drawSparklines(this.canvas, v.channels, v.series)
    }
  }

  private fillApps(v: McuView): void {
    if (v.apps.length === 0) {
      this.apps.replaceChildren(h('span', 'none', 'no apps'))
      return
    }
    const free = [...v.instances]
    this.apps.replaceChildren(
      ...v.apps.map((a) => {
        const row = h('div', `app ${a.state}`)
        row.dataset.app = a.name
        row.dataset.state = a.state
        const fuel = a.fuelPerTick ?? 0
        const pages = a.memoryPages ?? 0
        // The instance whose last tick is the one this report tells of: its limits.
        const at = free.findIndex((m) => m.fuel === a.fuelPerTick && m.pages === a.memoryPages)
        const limits = at >= 0 && a.state === 'running' ? free.splice(at, 1)[0]! : null
        row.append(
          h('span', 'name', `${a.name}@${a.version}`),
          h('span', 'state', a.state),
          meter(
            'fuel',
            limits ? fuel / limits.fuelBudget : 0,
            `${fuel}${limits ? ` of ${limits.fuelBudget}` : ''} fuel per tick`,
          ),
          meter(
            'mem',
            limits ? pages / limits.pagesLimit : 0,
            `${pages}${limits ? ` of ${limits.pagesLimit}` : ''} pages`,
          ),
        )
        if (a.reason) row.append(h('span', 'reason', a.reason))
        return row
      }),
    )
  }
}

function meter(name: string, share: number, title: string): HTMLElement {
  const m = h('meter')
  m.className = name
  m.min = 0
  m.max = 1
  m.high = 0.8
  m.value = Math.min(1, Math.max(0, share))
  m.title = title
  const wrap = h('label', 'meter', `${name} `)
  wrap.title = title
  wrap.append(m)
  return wrap
}

function fillVerdicts(list: HTMLElement, verdicts: Verdict[], total: number): void {
  list.dataset.count = String(total)
  const recent = verdicts.slice(-4).reverse()
  list.replaceChildren(
    ...recent.map((v) =>
      h(
        'li',
        undefined,
        `${new Date(v.ts).toISOString().slice(11, 19)} ${v.channel} ${v.what} ${v.score.toFixed(2)}`,
      ),
    ),
  )
  if (total > recent.length) list.append(h('li', 'more', `${total} in all`))
}

const COLOURS = ['#2b7bb9', '#d9534f', '#5cb85c', '#f0ad4e', '#8e44ad', '#16a085', '#7f8c8d']

/** Each channel in its own band, scaled to its own range over the window. */
function drawSparklines(canvas: HTMLCanvasElement, channels: string[], series: number[][]): void {
  const g = canvas.getContext('2d')
  if (!g) return
  const { width, height } = canvas
  g.clearRect(0, 0, width, height)
  const band = height / Math.max(1, channels.length)
  g.font = '9px system-ui, sans-serif'
  series.forEach((values, c) => {
    let lo = Number.POSITIVE_INFINITY
    let hi = Number.NEGATIVE_INFINITY
    for (const x of values) {
      if (Number.isFinite(x)) {
        lo = Math.min(lo, x)
        hi = Math.max(hi, x)
      }
    }
    const top = c * band
    g.fillStyle = '#888'
    g.fillText(channels[c] ?? '', 2, top + 9)
    if (!Number.isFinite(lo)) return
    const span = hi - lo || 1
    g.strokeStyle = COLOURS[c % COLOURS.length]!
    g.beginPath()
    let started = false
    values.forEach((x, i) => {
      if (!Number.isFinite(x)) return
      const px = 60 + (i / (values.length - 1)) * (width - 62)
      const py = top + band - 2 - ((x - lo) / span) * (band - 4)
      if (started) g.lineTo(px, py)
      else g.moveTo(px, py)
      started = true
    })
    g.stroke()
  })
}
