// A small Prometheus registry: counters and histograms with labels, rendered in text format 0.0.4.
// Runtime-free, so the same code serves /metrics on Node, workerd and Spin.

type Labels = Record<string, string>

const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')
const labelText = (labels: Labels) => {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`)
  return parts.length ? `{${parts.join(',')}}` : ''
}

export class Counter {
  private readonly values = new Map<string, { labels: Labels; value: number }>()
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  inc(labels: Labels = {}, by = 1): void {
    const key = labelText(labels)
    const entry = this.values.get(key)
    if (entry) entry.value += by
    else this.values.set(key, { labels, value: by })
  }

  get(labels: Labels = {}): number {
    return this.values.get(labelText(labels))?.value ?? 0
  }

  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`]
    if (this.values.size === 0) lines.push(`${this.name} 0`)
    for (const [key, { value }] of this.values) lines.push(`${this.name}${key} ${value}`)
    return lines.join('\n')
  }
}

/** A value set when read (devices by status at scrape time). */
export class Gauge {
  private readonly values = new Map<string, number>()
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  set(labels: Labels, value: number): void {
    this.values.set(labelText(labels), value)
  }

  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} gauge`]
    for (const [key, value] of this.values) lines.push(`${this.name}${key} ${value}`)
    return lines.join('\n')
  }
}

export class Histogram {
  private readonly series = new Map<
    string,
    { labels: Labels; counts: number[]; sum: number; count: number }
  >()
  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: number[],
  ) {}

  observe(value: number, labels: Labels = {}): void {
    const key = labelText(labels)
    let s = this.series.get(key)
    if (!s) {
      s = { labels, counts: this.buckets.map(() => 0), sum: 0, count: 0 }
      this.series.set(key, s)
    }
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]!) s.counts[i]!++
    s.sum += value
    s.count++
  }

  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`]
    for (const { labels, counts, sum, count } of this.series.values()) {
      for (let i = 0; i < this.buckets.length; i++) {
        const le = this.buckets[i]!
        lines.push(`${this.name}_bucket${labelText({ ...labels, le: String(le) })} ${counts[i]}`)
      }
      lines.push(`${this.name}_bucket${labelText({ ...labels, le: '+Inf' })} ${count}`)
      lines.push(`${this.name}_sum${labelText(labels)} ${sum}`)
      lines.push(`${this.name}_count${labelText(labels)} ${count}`)
    }
    return lines.join('\n')
  }
}

const SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

/** Every metric edgewatch exports. */
export class Metrics {
  readonly recordsIngested = new Counter('edgewatch_records_ingested_total', 'Records accepted and stored.')
  readonly recordsRejected = new Counter(
    'edgewatch_records_rejected_total',
    'Records rejected and sent to the dead letters.',
  )
  readonly anomalies = new Counter('edgewatch_anomalies_total', 'Anomalies found, by kind.')
  readonly overloaded = new Counter(
    'edgewatch_overloaded_total',
    'Ingest requests refused with 503 overloaded, by the bound they met.',
  )
  readonly commitConflicts = new Counter(
    'edgewatch_commit_conflicts_total',
    'Ingest commits retried because another writer changed a series or stored a key first.',
  )
  readonly seriesRestarted = new Counter(
    'edgewatch_series_restarted_total',
    'Series whose stored detector state could not be read, restarted from scratch.',
  )
  readonly enrolments = new Counter('edgewatch_enrolments_total', 'Devices enrolled.')
  readonly heartbeats = new Counter('edgewatch_heartbeats_total', 'Device heartbeats recorded.')
  readonly deviceAuthRefused = new Counter(
    'edgewatch_device_auth_refused_total',
    'Device credentials refused, by reason.',
  )
  readonly devices = new Gauge('edgewatch_devices', 'Devices by status, when scraped.')
  readonly streamsOpen = new Gauge('edgewatch_streams_open', 'GET /v1/stream responses open now.')
  readonly requests = new Counter(
    'edgewatch_http_requests_total',
    'HTTP requests, by method, route and status.',
  )
  readonly requestSeconds = new Histogram(
    'edgewatch_http_request_duration_seconds',
    'HTTP request latency, by route.',
    SECONDS,
  )
  readonly storeSeconds = new Histogram(
    'edgewatch_store_operation_duration_seconds',
    'Store operation latency, by operation.',
    SECONDS,
  )

  render(): string {
    return (
      [
        this.recordsIngested,
        this.recordsRejected,
        this.anomalies,
        this.overloaded,
        this.commitConflicts,
        this.seriesRestarted,
        this.enrolments,
        this.heartbeats,
        this.deviceAuthRefused,
        this.devices,
        this.streamsOpen,
        this.requests,
        this.requestSeconds,
        this.storeSeconds,
      ]
        .map((m) => m.render())
        .join('\n') + '\n'
    )
  }
}
