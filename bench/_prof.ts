import { rmSync } from 'node:fs'
import { createApp } from '../functions/app.js'
import { resolveAnalysisConfig } from '../functions/domain/analysis-config.js'
import { openSqliteStore } from '../functions/store/sqlite.js'
import { withStateCache } from '../functions/store/state-cache.js'
import { loadNodeKernel } from '../kernels/node.js'

rmSync('/tmp/prof/db.sqlite', { force: true })
rmSync('/tmp/prof/db.sqlite-wal', { force: true })
const store = withStateCache(
  openSqliteStore('/tmp/prof/db.sqlite', { synchronous: (process.env.SYNC as 'full') ?? 'full' }),
)
const app = createApp({
  store,
  kernel: await loadNodeKernel(),
  analysis: resolveAnalysisConfig({}),
  tokens: { ingest: 'i', admin: 'a' },
  bodyLimitBytes: 8 << 20,
})
const bodies: string[] = []
let t = Date.UTC(2026, 10, 1)
for (let b = 0; b < 50; b++) {
  const lines = []
  for (let i = 0; i < 1000; i++) {
    const d = i % 100
    if (d === 0) t += 1000
    lines.push(
      JSON.stringify({
        deviceId: `sensor-${String(d).padStart(4, '0')}`,
        ts: t,
        level: 'info',
        temp: 40 + Math.sin(t / 60000 + d) * 5,
        latencyMs: 20 + ((i * 31) % 50),
        msg: 'telemetry',
      }),
    )
  }
  bodies.push(lines.join('\n'))
}
const N = Number(process.env.N ?? 300)
const t0 = performance.now()
for (let i = 0; i < N; i++) {
  const res = await app.request('/v1/ingest', {
    method: 'POST',
    body: bodies[i % 50],
    headers: {
      authorization: 'Bearer i',
      'content-type': 'application/x-ndjson',
      'content-length': String(bodies[i % 50]!.length),
    },
  })
  if (res.status !== 200) throw new Error(await res.text())
}
const s = (performance.now() - t0) / 1000
console.log(`${Math.round((N * 1000) / s)} records/s in-process`)
