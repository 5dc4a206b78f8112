// The browser app host, bundled for a page: window.appHostCase(modules) runs the watchdog case in
// real Web Workers and answers what each call gave (app-host.test.ts).
import type { PreparedModule } from '../../agent/apps/ports.js'
import { createBrowserAppHost } from '../app-host.js'

const input = (fuel: number, wallMs: number) => ({ nowMs: 1000, fuel, wallMs, values: [2.5, 20] })

type Sent = Omit<PreparedModule, 'bytes'> & { bytes: number[] }

;(window as unknown as { appHostCase: unknown }).appHostCase = async (sent: { loop: Sent; well: Sent }) => {
  const modules = {
    loop: { ...sent.loop, bytes: new Uint8Array(sent.loop.bytes) },
    well: { ...sent.well, bytes: new Uint8Array(sent.well.bytes) },
  }
  const host = createBrowserAppHost({ workers: 1 })
  const spec = (module: PreparedModule) => ({
    module,
    memoryPages: 4,
    wallMs: 5_000,
    channels: ['flow', 'temp'],
  })
  const well = await host.start(spec(modules.well))
  const first = await well.call('tick', input(100_000, 1_000))
  const loop = await host.start(spec(modules.loop))
  // Fuel alone would let the loop run for minutes: the watchdog ends it at its wall time, and the
  // app queued behind it on the same worker loses its call (host_restart).
  const t0 = performance.now()
  const [overrun, neighbour] = await Promise.all([
    loop.call('tick', input(1e12, 300)),
    well.call('tick', input(100_000, 1_000)),
  ])
  const killedAfterMs = performance.now() - t0
  const later = await well.call('tick', input(100_000, 1_000))
  const again = await host.start(spec(modules.well))
  const fresh = await again.call('tick', input(100_000, 1_000))
  const counts = host.counts()
  host.close()
  return { first, overrun, neighbour, killedAfterMs, later, fresh, counts }
}
