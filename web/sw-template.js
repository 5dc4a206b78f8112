// edgewatch replay's service worker: the app and its kernel are cached at install, and served
// cache-first, so the tool opens and works with no network. A new build gets a new cache name.
const CACHE = 'edgewatch-replay-__VERSION__'
const FILES = __FILES__

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(FILES))
      .then(() => self.skipWaiting()),
  )
})

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) =>
        Promise.all(
          keys.filter((k) => k.startsWith('edgewatch-replay-') && k !== CACHE).map((k) => caches.delete(k)),
        ),
      )
      .then(() => self.clients.claim()),
  )
})

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url)
  if (event.request.method !== 'GET' || url.origin !== self.location.origin) return
  const scope = new URL(self.registration.scope)
  if (!url.pathname.startsWith(scope.pathname)) return
  event.respondWith(
    caches.open(CACHE).then(async (cache) => {
      const hit = await cache.match(event.request, { ignoreSearch: true })
      if (hit) return hit
      if (event.request.mode === 'navigate') {
        const shell = await cache.match(new URL('./', scope).href)
        if (shell) return shell
      }
      return fetch(event.request)
    }),
  )
})
