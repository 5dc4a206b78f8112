// Just enough of vitest's describe/it/expect to run a contract (firmware/agent/testing/storage-contract.ts)
// inside a browser page: the tests are collected, then run one by one, each result a name and an error.
type Test = { name: string; run: () => unknown }
const tests: Test[] = []
const path: string[] = []

export function describe(name: string, body: () => void): void {
  path.push(name)
  try {
    body()
  } finally {
    path.pop()
  }
}

export function it(name: string, run: () => unknown): void {
  tests.push({ name: [...path, name].join(' > '), run })
}

function equal(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
  if (Array.isArray(a) !== Array.isArray(b)) return false
  const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined)
  const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined)
  if (ka.length !== kb.length) return false
  return ka.every((k) => equal((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
}

export function expect(actual: unknown) {
  const fail = (what: string, expected: unknown) => {
    throw new Error(`expected ${JSON.stringify(actual)} ${what} ${JSON.stringify(expected)}`)
  }
  return {
    toBe: (expected: unknown) => Object.is(actual, expected) || fail('to be', expected),
    toEqual: (expected: unknown) => equal(actual, expected) || fail('to equal', expected),
    toBeNull: () => actual === null || fail('to be', null),
  }
}

/** Runs what was collected, in order. */
export async function runCollected(): Promise<{ name: string; error: string | null }[]> {
  const results = []
  for (const t of tests) {
    try {
      await t.run()
      results.push({ name: t.name, error: null })
    } catch (e) {
      results.push({ name: t.name, error: e instanceof Error ? e.message : String(e) })
    }
  }
  return results
}
