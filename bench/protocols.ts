// Records/s through each input edgewatch speaks, on the same records: HTTP JSON (NDJSON to
// /v1/ingest), Influx line protocol (/v1/write) and, when Mosquitto is installed, MQTT (each batch
// published as one message per device, its 25 records in an array, QoS 1, from 10 clients: the
// rate is what the server committed while the broker held a backlog). Each round starts a fresh
// `edgewatch serve` per input and loads it for BENCH_COMPARE_S (10) seconds, the inputs alternating
// for BENCH_ROUNDS (3) rounds; medians in the JSON line. OTLP protobuf (/v1/otlp/v1/metrics) gets
// each batch as an OpenTelemetry SDK exports it: a resource per device (device.id), a gauge per
// metric (temp, latencyMs) holding the device's points. OTLP has no message beside a metric, so a
// batch of 1,000 records is 2,000 data points; edgewatch makes one record of a device's points at
// one time, so they are stored as 1,000 records of both metrics: `otlp_records_per_s` counts the
// batch's records (as the other inputs are counted), `otlp_data_points_per_s` the points sent.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { create, toBinary } from '@bufbuild/protobuf'
import mqtt from 'mqtt'
import { telemetryTopic } from '../firmware/node/mqtt-messages.js'
import { ExportMetricsServiceRequestSchema } from '../functions/protocols/otlp/gen/metrics_pb.js'
import { metricsParser } from '../functions/protocols/otlp/metrics-body.js'
import { mosquittoInstalled, startBroker } from '../test/mqtt/broker.js'
import { startServer } from '../test/server-process.js'
import { type BenchRecord, lineOf } from './ingest/influx.js'
import { comparisonRecords, load } from './ingest/workload.js'
import { median, report } from './stats.js'

const SECONDS = Number(process.env.BENCH_COMPARE_S ?? 10)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
const TOKEN = 'bench-ingest-token-0001'

const batches = comparisonRecords()

/** A batch as an OTLP metrics export, protobuf: per device a resource, per metric a gauge of its points. */
/** A batch's records by device, in order of first appearance. */
function byDeviceOf(batch: BenchRecord[]): Map<string, BenchRecord[]> {
  const byDevice = new Map<string, BenchRecord[]>()
  for (const r of batch) {
    const list = byDevice.get(r.deviceId)
    if (list) list.push(r)
    else byDevice.set(r.deviceId, [r])
  }
  return byDevice
}

function otlpMetricsOf(batch: BenchRecord[]): Buffer {
  const byDevice = byDeviceOf(batch)
  const gauge = (name: 'temp' | 'latencyMs', records: BenchRecord[]) => ({
    name,
    data: {
      case: 'gauge' as const,
      value: {
        dataPoints: records.map((r) => ({
          timeUnixNano: BigInt(r.ts) * 1_000_000n,
          value: { case: 'asDouble' as const, value: r[name] },
        })),
      },
    },
  })
  const request = create(ExportMetricsServiceRequestSchema, {
    resourceMetrics: [...byDevice].map(([device, records]) => ({
      resource: {
        attributes: [{ key: 'device.id', value: { value: { case: 'stringValue' as const, value: device } } }],
      },
      scopeMetrics: [
        { scope: { name: 'bench' }, metrics: [gauge('temp', records), gauge('latencyMs', records)] },
      ],
    })),
  })
  return Buffer.from(toBinary(ExportMetricsServiceRequestSchema, request))
}
const inputs = {
  http_json: {
    path: '/v1/ingest',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/x-ndjson' },
    bodies: batches.map((b) => b.map((r) => JSON.stringify(r)).join('\n')),
  },
  line_protocol: {
    path: '/v1/write?db=bench&precision=ms',
    headers: { authorization: `Token ${TOKEN}`, 'content-type': 'text/plain' },
    bodies: batches.map((b) => b.map(lineOf).join('\n')),
  },
  otlp_protobuf: {
    path: '/v1/otlp/v1/metrics',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/x-protobuf' },
    bodies: batches.map(otlpMetricsOf),
  },
} as const

// A 200 may carry a partial success: the bodies are checked to hold only data points that are
// stored, as one record per sent record.
const parsed = await metricsParser({ encoding: 'protobuf', deviceAttributes: ['device.id'] }).binary(
  inputs.otlp_protobuf.bodies[0]!,
  Date.now(),
  async () => {},
)
if (parsed.rejectedCount > 0 || parsed.records.length !== batches[0]!.length)
  throw new Error(
    `otlp: the bench export holds ${parsed.records.length} records, ${parsed.rejectedCount} rejected`,
  )

const runs: Record<keyof typeof inputs, { recordsPerS: number; p99: number }[]> = {
  http_json: [],
  line_protocol: [],
  otlp_protobuf: [],
}
for (let round = 1; round <= ROUNDS; round++) {
  for (const name of Object.keys(inputs) as (keyof typeof inputs)[]) {
    const dir = mkdtempSync(join(tmpdir(), 'edgewatch-bench-protocols-'))
    const server = await startServer({
      EDGEWATCH_DATA_DIR: dir,
      EDGEWATCH_INGEST_TOKEN: TOKEN,
      EDGEWATCH_ADMIN_TOKEN: 'bench-admin-token-00001',
    })
    try {
      const { path, headers, bodies } = inputs[name]
      const r = await load(server.url, path, headers, [...bodies], SECONDS)
      if (r.non2xx > 0 || r.errors > 0) throw new Error(`${name}: ${r.non2xx} non-2xx, ${r.errors} errors`)
      runs[name].push({ recordsPerS: r.recordsPerS, p99: r.p99 })
      console.log(`round ${round}: ${name} ${Math.round(r.recordsPerS)} records/s, p99 ${r.p99} ms`)
    } finally {
      await server.stop('SIGTERM')
      rmSync(dir, { recursive: true, force: true })
    }
  }
}
const mqttRuns: number[] = []
if (!mosquittoInstalled()) {
  console.log('!!! mosquitto is not installed (apt-get install mosquitto): the MQTT input is SKIPPED !!!')
} else {
  // One message per device and batch: the topic names the device.
  const messages = batches.flatMap((b) =>
    [...byDeviceOf(b)].map(([device, records]) => ({ topic: telemetryTopic(device), records })),
  )
  for (let round = 1; round <= ROUNDS; round++) {
    const broker = await startBroker()
    const dir = mkdtempSync(join(tmpdir(), 'edgewatch-bench-protocols-'))
    const server = await startServer({
      EDGEWATCH_DATA_DIR: dir,
      EDGEWATCH_INGEST_TOKEN: TOKEN,
      EDGEWATCH_ADMIN_TOKEN: 'bench-admin-token-00001',
      EDGEWATCH_MQTT_URL: broker.url,
    })
    const stored = async () => {
      const res = await fetch(`${server.url}/v1/devices?limit=1000`, {
        headers: { authorization: 'Bearer bench-admin-token-00001' },
      })
      const { items } = (await res.json()) as { items: { recordCount: number }[] }
      return items.reduce((n, d) => n + d.recordCount, 0)
    }
    const clients = await Promise.all(Array.from({ length: 10 }, () => mqtt.connectAsync(broker.url)))
    let publishing = true
    const publishers = clients.map(async (client, c) => {
      for (let k = c; publishing; k += clients.length) {
        const m = messages[k % messages.length]!
        await client.publishAsync(m.topic, JSON.stringify(m.records), { qos: 1 })
      }
    })
    try {
      await new Promise((r) => setTimeout(r, 1000)) // a backlog first
      const from = await stored()
      const t0 = performance.now()
      await new Promise((r) => setTimeout(r, SECONDS * 1000))
      const rate = ((await stored()) - from) / ((performance.now() - t0) / 1000)
      mqttRuns.push(rate)
      console.log(`round ${round}: mqtt ${Math.round(rate)} records/s committed`)
    } finally {
      publishing = false
      await Promise.all(publishers)
      await Promise.all(clients.map((client) => client.endAsync()))
      await server.stop('SIGTERM')
      await broker.stop()
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

const rate = (name: keyof typeof inputs) => Math.round(median(runs[name].map((r) => r.recordsPerS)))
const p99 = (name: keyof typeof inputs) => median(runs[name].map((r) => r.p99))
report({
  benchmark: 'protocols',
  seconds: SECONDS,
  rounds: ROUNDS,
  http_json_records_per_s: rate('http_json'),
  http_json_p99_ms: p99('http_json'),
  line_protocol_records_per_s: rate('line_protocol'),
  line_protocol_p99_ms: p99('line_protocol'),
  line_protocol_over_http_json: Number((rate('line_protocol') / rate('http_json')).toFixed(3)),
  mqtt_records_per_s: mqttRuns.length ? Math.round(median(mqttRuns)) : null,
  mqtt_over_http_json: mqttRuns.length ? Number((median(mqttRuns) / rate('http_json')).toFixed(3)) : null,
  otlp_records_per_s: rate('otlp_protobuf'),
  otlp_data_points_per_s: rate('otlp_protobuf') * 2,
  otlp_p99_ms: p99('otlp_protobuf'),
  otlp_over_http_json: Number((rate('otlp_protobuf') / rate('http_json')).toFixed(3)),
})
