// The replay tool's page: panels over one App, and the service worker that keeps it offline.
import './styles.css'
import { App } from './app.js'
import { anomaliesTable } from './ui/anomalies-table.js'
import { chartsPanel } from './ui/charts.js'
import { comparePanel } from './ui/compare-panel.js'
import { controlsPanel } from './ui/controls.js'
import { datasetsPanel } from './ui/datasets-panel.js'
import { byId, h } from './ui/dom.js'
import { exportPanel } from './ui/export-panel.js'
import { importPanel } from './ui/import-panel.js'
import { tuningPanel } from './ui/tuning-panel.js'
import { windowsTable } from './ui/windows-table.js'

declare const __SERVICE_WORKER__: boolean

const app = new App()
importPanel(app)
datasetsPanel(app)
controlsPanel(app)
chartsPanel(app)
anomaliesTable(app)
windowsTable(app)
tuningPanel(app)
comparePanel(app)
exportPanel(app)

const net = byId('net')
const banner = h('div', { id: 'banner', role: 'alert', hidden: true })
document.body.prepend(banner)
app.onChange((s) => {
  banner.hidden = !s.error && !s.busy
  banner.className = s.error ? 'error' : 'busy'
  banner.replaceChildren(
    s.error ?? s.busy ?? '',
    s.error ? h('button', { class: 'small', onclick: () => app.set({ error: undefined }) }, 'Dismiss') : '',
  )
  document.body.setAttribute('aria-busy', String(Boolean(s.busy)))
})
const showNet = () => {
  net.textContent = navigator.onLine ? 'online' : 'offline: everything here still works'
}
addEventListener('online', showNet)
addEventListener('offline', showNet)
showNet()
app.set({})

if ('serviceWorker' in navigator && __SERVICE_WORKER__) {
  navigator.serviceWorker.register('./sw.js').then(
    (reg) => {
      document.body.dataset.sw = 'registered'
      void navigator.serviceWorker.ready.then(() => (document.body.dataset.sw = 'ready'))
      return reg
    },
    (e: Error) => app.set({ error: `offline mode unavailable: ${e.message}` }),
  )
}
