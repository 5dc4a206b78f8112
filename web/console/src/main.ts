// The live fleet console (served at /app/console/, and / redirects here): sign in with the admin
// token, then hash routes #/fleet, #/device/ID, #/apps, #/deployments/ID beside the live
// anomaly feed.
import './styles.css'
import { type Api, UNAUTHORIZED } from './api.js'
import { appsView } from './apps.js'
import { deploymentView } from './deployment.js'
import { deviceView } from './device.js'
import { feedPanel } from './feed.js'
import { fleetView } from './fleet.js'
import { h } from './format.js'
import { Live } from './live.js'
import { check, savedToken, signInForm, signOut } from './session.js'

const root = document.getElementById('console')!
/** Why the last token stopped working, said once on the sign-in form after the reload. */
const REFUSED_KEY = 'edgewatch.refused'

/** The route of a hash: its view and parameter. */
export function route(hash: string): { view: 'fleet' | 'device' | 'apps' | 'deployment'; id?: string } {
  const parts = hash.replace(/^#\/?/, '').split('/')
  const id = parts[1] ? decodeURIComponent(parts.slice(1).join('/')) : undefined
  if (parts[0] === 'device' && id) return { view: 'device', id }
  if (parts[0] === 'apps') return { view: 'apps' }
  if (parts[0] === 'deployments' && id) return { view: 'deployment', id }
  if (parts[0] === 'deployments') return { view: 'apps' }
  return { view: 'fleet' }
}

function start(api: Api): void {
  const live = new Live(api)
  const nav = h(
    'nav',
    { 'aria-label': 'Console' },
    h('a', { href: '#/fleet', 'data-nav': 'fleet' }, 'Fleet'),
    h('a', { href: '#/apps', 'data-nav': 'apps' }, 'Apps & deployments'),
    h('a', { href: '/app/' }, 'Replay tool'),
    h('a', { href: '/app/mcu/' }, 'Virtual MCUs'),
  )
  const liveBadge = h('span', { class: 'live-badge', 'aria-hidden': 'true' })
  const out = h('button', { type: 'button', class: 'small', id: 'sign-out' }, 'Sign out')
  const view = h('main', { id: 'view', tabindex: -1 })
  const feed = h('aside', { id: 'feed', 'aria-label': 'Live anomalies' })
  root.replaceChildren(
    h('header', {}, h('h1', {}, 'edgewatch ', h('span', {}, 'fleet console')), nav, liveBadge, out),
    h('div', { class: 'layout' }, view, feed),
  )
  live.onStatus((s) => {
    liveBadge.textContent =
      s.mode === 'stream' ? '● live' : s.mode === 'polling' ? '● polling' : '○ connecting'
    liveBadge.dataset.mode = s.mode
  })
  out.addEventListener('click', () => {
    live.stop()
    signOut()
    location.reload()
  })

  let cleanup: (() => void) | undefined
  const go = (hash: string) => {
    location.hash = hash
  }
  const render = () => {
    cleanup?.()
    const r = route(location.hash)
    for (const a of nav.querySelectorAll<HTMLAnchorElement>('a[data-nav]'))
      a.toggleAttribute(
        'aria-current',
        a.dataset.nav === (r.view === 'deployment' ? 'apps' : r.view === 'device' ? 'fleet' : r.view),
      )
    view.dataset.view = r.view
    if (r.view === 'device') cleanup = deviceView(view, api, live, r.id!)
    else if (r.view === 'apps') cleanup = appsView(view, api, go)
    else if (r.view === 'deployment') cleanup = deploymentView(view, api, r.id!)
    else cleanup = fleetView(view, api, live)
    document.title = `edgewatch console · ${r.view}${r.id ? ` ${r.id}` : ''}`
  }
  addEventListener('hashchange', () => {
    render()
    // A screen reader and the keyboard start at the new view.
    view.focus({ preventScroll: true })
  })
  render()
  live.start()
  void feedPanel(feed, api, live)
  addEventListener(UNAUTHORIZED, (e) => {
    live.stop()
    signOut()
    sessionStorage.setItem(REFUSED_KEY, (e as CustomEvent<string>).detail)
    location.reload()
  })
  document.body.dataset.signedIn = 'true'
}

async function boot(): Promise<void> {
  document.body.dataset.signedIn = 'false'
  const wrap = h('div', { class: 'signin-wrap' })
  root.replaceChildren(h('header', {}, h('h1', {}, 'edgewatch ', h('span', {}, 'fleet console'))), wrap)
  const refused = sessionStorage.getItem(REFUSED_KEY)
  sessionStorage.removeItem(REFUSED_KEY)
  if (refused)
    return start(await signInForm(wrap, `The server no longer accepts the token: ${refused}. Sign in again.`))
  const token = savedToken()
  if (token) {
    try {
      return start(await check(token))
    } catch (e) {
      signOut()
      return start(await signInForm(wrap, (e as Error).message))
    }
  }
  start(await signInForm(wrap))
}

void boot()
