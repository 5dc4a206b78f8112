// A device agent process for the crash test (kill.test.ts): runs against EDGEWATCH_URL with its state in
// STATE_DIR, reading a counter at a high rate, and prints one JSON line per batch once it is in the
// outbox on disk. With RUN_MS set it stops cleanly after that long (draining the outbox) and exits.
import { createNodeAgent } from '../agent.js'

const env = (name: string): string => {
  const value = process.env[name]
  if (!value) throw new Error(`${name} is required`)
  return value
}

let n = 0
const agent = await createNodeAgent({
  server: env('EDGEWATCH_URL'),
  enrolmentToken: 'enrol-token',
  stateDir: env('STATE_DIR'),
  sensor: { kind: 'counter', channels: () => ['n', 'pid'], read: () => ({ n: ++n, pid: process.pid }) },
  rateHz: 500,
  batchMs: 10,
  agentVersion: 'crash-test',
  backoff: { baseMs: 20, capMs: 200 },
  onEvent: (e) => {
    if (e.type === 'sealed' || e.type === 'acked' || e.type === 'stopped') {
      process.stdout.write(`${JSON.stringify(e)}\n`)
    }
  },
})
await agent.start()
process.stdout.write(`${JSON.stringify({ type: 'started', stats: agent.stats() })}\n`)
const runMs = Number(process.env.RUN_MS ?? 0)
if (runMs > 0) {
  await new Promise((resolve) => setTimeout(resolve, runMs))
  await agent.stop({ goodbye: true, drainMs: 15_000 })
  process.stdout.write(`${JSON.stringify({ type: 'exit', stats: agent.stats() })}\n`)
}
