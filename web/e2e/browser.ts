// Chromium for the end-to-end tests and the replay benchmark: the system's /usr/bin/chromium
// (never a downloaded one), driven by playwright-core.
import { existsSync } from 'node:fs'
import { type Browser, chromium } from 'playwright-core'

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
]

/**
 * Whether the browser tests can run. In CI (CI set) a missing Chromium is an error; on a
 * developer's machine the tests are skipped with a loud notice.
 */
export function chromiumAvailable(): boolean {
  if (existsSync(CHROMIUM)) return true
  const message = `Chromium not found at ${CHROMIUM}: install it (apt-get install -y chromium) or set CHROMIUM_PATH`
  if (process.env.CI) throw new Error(message)
  console.warn(`\n!!! ${message}. The browser tests are SKIPPED on this machine. !!!\n`)
  return false
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS })
}
