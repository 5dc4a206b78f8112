// The real OpenTelemetry JS SDK exporters (OTLP/HTTP with JSON and with protobuf, gzip or not)
// sending logs and metrics to the real server (`edgewatch serve`, the compiled CLI): what they
// export is stored as records, checked through the export API, and their partial success is read
// by the exporters as the specification has it.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DiagLogLevel, diag } from '@opentelemetry/api'
import { SeverityNumber } from '@opentelemetry/api-logs'
import { type ExportResult, ExportResultCode } from '@opentelemetry/core'
import { OTLPLogExporter as JsonLogExporter } from '@opentelemetry/exporter-logs-otlp-http'
import { OTLPLogExporter as ProtoLogExporter } from '@opentelemetry/exporter-logs-otlp-proto'
import { OTLPMetricExporter as JsonMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http'
import { OTLPMetricExporter as ProtoMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto'
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base'
import { resourceFromAttributes } from '@opentelemetry/resources'
import {
  InMemoryLogRecordExporter,
  LoggerProvider,
  type ReadableLogRecord,
  SimpleLogRecordProcessor,
} from '@opentelemetry/sdk-logs'
import { MeterProvider, MetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ServerProcess, startServer } from '../server-process.js'

const INGEST = 'otlp-test-ingest-token-0'
const ADMIN = 'otlp-test-admin-token-01'
const T = Date.UTC(2025, 0, 1)

type Rec = Record<string, unknown> & { deviceId: string; ts: string; metrics?: Record<string, number> }

let server: ServerProcess
let dataDir: string
beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'edgewatch-otlp-'))
  server = await startServer({
    EDGEWATCH_DATA_DIR: dataDir,
    EDGEWATCH_INGEST_TOKEN: INGEST,
    EDGEWATCH_ADMIN_TOKEN: ADMIN,
  })
})
afterAll(async () => {
  await server?.stop()
  rmSync(dataDir, { recursive: true, force: true })
})

async function exported(device: string): Promise<Rec[]> {
  const res = await fetch(`${server.url}/v1/export?deviceId=${device}`, {
    headers: { Authorization: `Bearer ${ADMIN}` },
  })
  expect(res.status).toBe(200)
  const lines = (await res.text())
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Rec & { export?: unknown })
  return lines.filter((l) => !('export' in l))
}

const exporterOptions = (signal: 'logs' | 'metrics', gzip: boolean) => ({
  url: `${server.url}/v1/otlp/v1/${signal}`,
  headers: { Authorization: `Bearer ${INGEST}` },
  compression: gzip ? CompressionAlgorithm.GZIP : CompressionAlgorithm.NONE,
})

function send<T>(exporter: { export(items: T, done: (r: ExportResult) => void): void }, items: T) {
  return new Promise<ExportResult>((resolve) => exporter.export(items, resolve))
}

/** Log records made by the SDK's own logger for a device (device.id on the resource). */
async function logRecords(device: string, emit: (logger: ReturnType<LoggerProvider['getLogger']>) => void) {
  const memory = new InMemoryLogRecordExporter()
  const provider = new LoggerProvider({
    resource: resourceFromAttributes({ 'service.name': 'pumps', 'device.id': device }),
    processors: [new SimpleLogRecordProcessor({ exporter: memory })],
  })
  emit(provider.getLogger('edgewatch-test', '1.0.0'))
  await provider.forceFlush()
  const records: ReadableLogRecord[] = memory.getFinishedLogRecords()
  await provider.shutdown()
  return records
}

/** A reader that collects when asked: the metrics the SDK has, exported by hand. */
class CollectingReader extends MetricReader {
  protected override onForceFlush() {
    return Promise.resolve()
  }
  protected override onShutdown() {
    return Promise.resolve()
  }
}

async function metricData(device: string, record: (meter: ReturnType<MeterProvider['getMeter']>) => void) {
  const reader = new CollectingReader()
  const provider = new MeterProvider({
    resource: resourceFromAttributes({ 'service.name': 'pumps', 'service.instance.id': device }),
    readers: [reader],
  })
  record(provider.getMeter('edgewatch-test'))
  const { resourceMetrics, errors } = await reader.collect()
  expect(errors).toEqual([])
  await provider.shutdown()
  return resourceMetrics
}

describe('OpenTelemetry log exporters → POST /v1/otlp/v1/logs', () => {
  for (const [name, Exporter, gzip] of [
    ['JSON', JsonLogExporter, false],
    ['JSON, gzip', JsonLogExporter, true],
    ['protobuf', ProtoLogExporter, false],
    ['protobuf, gzip', ProtoLogExporter, true],
  ] as const) {
    it(`stores what the ${name} exporter sends`, async () => {
      const device = `logs-${name.replace(/\W+/g, '-')}`
      const records = await logRecords(device, (logger) => {
        logger.emit({
          timestamp: new Date(T),
          severityNumber: SeverityNumber.WARN,
          severityText: 'WARN',
          body: 'pressure high',
          attributes: { bar: 4.2, line: 'a' },
        })
        logger.emit({
          timestamp: new Date(T + 1000),
          severityNumber: SeverityNumber.ERROR,
          body: { code: 7 },
        })
      })
      const result = await send(new Exporter(exporterOptions('logs', gzip)), records)
      expect(result.error).toBeUndefined()
      expect(result.code).toBe(ExportResultCode.SUCCESS)
      const stored = await exported(device)
      expect(stored).toHaveLength(2)
      expect(stored[0]).toMatchObject({
        deviceId: device,
        ts: new Date(T).toISOString(),
        level: 'warn',
        msg: 'pressure high',
        attributes: { bar: 4.2, line: 'a' },
        resource: { 'service.name': 'pumps', 'device.id': device },
        scope: 'edgewatch-test',
      })
      expect(stored[1]).toMatchObject({
        ts: new Date(T + 1000).toISOString(),
        level: 'error',
        msg: '{"code":7}',
      })
    })
  }

  it('is answered partial success when some records name no device: the exporter succeeds, the rest is stored', async () => {
    const device = 'logs-partial'
    const records = await logRecords(device, (logger) => {
      logger.emit({ timestamp: new Date(T), body: 'kept' })
      // A record of its own device names one that cannot be (a control character): rejected.
      logger.emit({
        timestamp: new Date(T + 1),
        body: 'rejected',
        attributes: { 'device.id': 'bad\u0001id' },
      })
    })
    // The exporters tell of a partial success through the diagnostic logger.
    const warnings: string[] = []
    const quiet = () => {}
    diag.setLogger(
      {
        warn: (...args) => warnings.push(args.join(' ')),
        error: quiet,
        info: quiet,
        debug: quiet,
        verbose: quiet,
      },
      DiagLogLevel.WARN,
    )
    try {
      for (const Exporter of [JsonLogExporter, ProtoLogExporter]) {
        const result = await send(new Exporter(exporterOptions('logs', false)), records)
        expect(result.code).toBe(ExportResultCode.SUCCESS)
      }
    } finally {
      diag.disable()
    }
    const partial = warnings.filter((w) => w.startsWith('Received Partial Success response'))
    expect(partial).toHaveLength(2)
    for (const w of partial) expect(w).toMatch(/"rejectedLogRecords":"?1"?.*index 1: deviceId must be/)
    const stored = await exported(device)
    expect(stored.map((r) => r.msg)).toEqual(['kept', 'kept'])
  })

  it('fails an export with a wrong token, without retrying it', async () => {
    const records = await logRecords('logs-unauthorised', (logger) => logger.emit({ body: 'x' }))
    const exporter = new ProtoLogExporter({
      ...exporterOptions('logs', false),
      headers: { Authorization: 'Bearer wrong' },
    })
    const result = await send(exporter, records)
    expect(result.code).toBe(ExportResultCode.FAILED)
    expect(String(result.error)).toMatch(/401|Unauthorized/i)
    expect(await exported('logs-unauthorised')).toEqual([])
  })
})

describe('OpenTelemetry metric exporters → POST /v1/otlp/v1/metrics', () => {
  for (const [name, Exporter, gzip] of [
    ['JSON', JsonMetricExporter, false],
    ['protobuf', ProtoMetricExporter, false],
    ['protobuf, gzip', ProtoMetricExporter, true],
  ] as const) {
    it(`stores gauges, sums and histogram counts the ${name} exporter sends`, async () => {
      const device = `metrics-${name.replace(/\W+/g, '-')}`
      const data: ResourceMetrics = await metricData(device, (meter) => {
        meter.createGauge('pump.pressure').record(4.2, { line: 'a' })
        meter.createCounter('pump.starts').add(3)
        const h = meter.createHistogram('pump.latency')
        h.record(10)
        h.record(30)
      })
      const result = await send(new Exporter(exporterOptions('metrics', gzip)), data)
      expect(result.error).toBeUndefined()
      expect(result.code).toBe(ExportResultCode.SUCCESS)
      // One collection, one time: a record for the points with attributes {line: a}, one for those without.
      const stored = await exported(device)
      expect(stored.map((r) => r.metrics)).toEqual([
        { 'pump.pressure': 4.2 },
        { 'pump.starts': 3, 'pump.latency.count': 2, 'pump.latency.sum': 40 },
      ])
      expect(stored[0]).toMatchObject({
        deviceId: device,
        attributes: { line: 'a' },
        resource: { 'service.instance.id': device },
      })
      expect(stored[1]!.ts).toBe(stored[0]!.ts)
      expect(stored[1]).not.toHaveProperty('attributes')
    })
  }

  it('gives one record per device and collection of a meter whose two gauges are read together', async () => {
    const devices = ['gauges-1', 'gauges-2']
    const readers = devices.map((device) => {
      const reader = new CollectingReader()
      const provider = new MeterProvider({
        resource: resourceFromAttributes({ 'service.instance.id': device }),
        readers: [reader],
      })
      const meter = provider.getMeter('edgewatch-test')
      return { reader, provider, temp: meter.createGauge('temp'), pressure: meter.createGauge('pressure') }
    })
    const exporter = new ProtoMetricExporter(exporterOptions('metrics', false))
    for (const collection of [1, 2]) {
      for (const [d, r] of readers.entries()) {
        r.temp.record(40 + 10 * d + collection)
        r.pressure.record(4 + d + collection / 10)
      }
      for (const r of readers) {
        const { resourceMetrics, errors } = await r.reader.collect()
        expect(errors).toEqual([])
        expect((await send(exporter, resourceMetrics)).code).toBe(ExportResultCode.SUCCESS)
      }
      // The next collection at another millisecond.
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
    for (const r of readers) await r.provider.shutdown()
    for (const [d, device] of devices.entries()) {
      const stored = await exported(device)
      expect(stored.map((r) => r.metrics)).toEqual([
        { temp: 41 + 10 * d, pressure: 4 + d + 0.1 },
        { temp: 42 + 10 * d, pressure: 4 + d + 0.2 },
      ])
      expect(new Set(stored.map((r) => r.ts)).size).toBe(2)
    }
  })
})
