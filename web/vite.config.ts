// The web build (the replay tool, the console, the MCU page): relative paths (it is served at /app/ by `npm start`, or opened from any
// static host), module workers, and a service worker that precaches every file of the build.
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { defineConfig, type Plugin } from 'vite'

const root = fileURLToPath(new URL('.', import.meta.url))

function serviceWorker(): Plugin {
  return {
    name: 'edgewatch-service-worker',
    apply: 'build',
    generateBundle(_options, bundle) {
      // Every page by its URL (the HTML is not in the bundle yet here): a navigation to /app/console/
      // or /app/mcu/ must find its own page in the cache, not fall back to the replay tool's shell.
      const files = ['./', './console/', './mcu/', ...Object.keys(bundle).map((f) => `./${f}`)]
      const version = createHash('sha256').update(files.join('\n')).digest('hex').slice(0, 12)
      const source = readFileSync(new URL('./sw-template.js', import.meta.url), 'utf8')
        .replace('__VERSION__', version)
        .replace('__FILES__', JSON.stringify(files, null, 2))
      this.emitFile({ type: 'asset', fileName: 'sw.js', source })
    },
  }
}

export default defineConfig(({ command }) => ({
  root,
  base: './',
  logLevel: 'warn',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 1024,
    // Three pages: the replay tool (/app/), the fleet console (/app/console/), the simulated MCUs (/app/mcu/).
    rollupOptions: {
      input: {
        replay: fileURLToPath(new URL('./index.html', import.meta.url)),
        console: fileURLToPath(new URL('./console/index.html', import.meta.url)),
        mcu: fileURLToPath(new URL('./mcu/index.html', import.meta.url)),
      },
    },
  },
  worker: { format: 'es' },
  server: { fs: { allow: ['..'] } },
  plugins: [serviceWorker()],
  // Whether the page registers the service worker: in builds, not on the dev server.
  define: { __SERVICE_WORKER__: JSON.stringify(command === 'build') },
}))
