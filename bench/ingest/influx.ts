// InfluxDB for the side-by-side ingest comparison: a real `influxd` (Debian's `influxdb`, 1.x) from
// test/influx/influxd.ts, with a database for the benchmark, and the line protocol of the same
// records edgewatch gets. Only used when `influxd` is installed (`apt-get install influxdb`).
import { type Influxd, influxdInstalled, startInfluxd } from '../../test/influx/influxd.js'

export { influxdInstalled }

export interface BenchRecord {
  deviceId: string
  ts: number
  temp: number
  latencyMs: number
  msg: string
}

/** One record as a line: measurement `telemetry`, the device as a tag, the metrics and the message as fields. */
export function lineOf(r: BenchRecord): string {
  const msg = r.msg.replace(/["\\]/g, (c) => `\\${c}`)
  return `telemetry,device=${r.deviceId} temp=${r.temp},latencyMs=${r.latencyMs},msg="${msg}" ${r.ts}`
}

export interface Influx extends Influxd {
  /** The URL path and query that writes a body of lines with millisecond timestamps. */
  writePath: string
}

/** influxd with a `bench` database to write to. */
export async function startInflux(): Promise<Influx> {
  const influxd = await startInfluxd()
  const made = await fetch(`${influxd.url}/query`, {
    method: 'POST',
    body: new URLSearchParams({ q: 'CREATE DATABASE bench' }),
  })
  if (!made.ok) {
    await influxd.stop()
    throw new Error(`influxd: CREATE DATABASE answered ${made.status}`)
  }
  return { ...influxd, writePath: '/write?db=bench&precision=ms' }
}
