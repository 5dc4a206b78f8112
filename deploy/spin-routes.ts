// Spin's HTTP trigger routes, as its router reads them: an exact path (`/cart`), single-segment
// wildcards (`/users/:id`), and a trailing wildcard (`/users/...`, which also matches `/users`;
// `/...` matches everything). The most specific match wins: an exact route over a wildcard one, then
// the longer prefix.

const segments = (path: string) => path.split('/').filter((s) => s !== '')
const TRAILING = '/...'

export function routeMatches(route: string, path: string): boolean {
  const wildcard = route.endsWith(TRAILING)
  const pattern = segments(wildcard ? route.slice(0, -TRAILING.length) : route)
  const actual = segments(path.split('?')[0] ?? '')
  if (wildcard ? actual.length < pattern.length : actual.length !== pattern.length) return false
  return pattern.every((p, i) => p.startsWith(':') || p === actual[i])
}

/** Higher is more specific. */
function specificity(route: string): number {
  const wildcard = route.endsWith(TRAILING)
  const pattern = segments(wildcard ? route.slice(0, -TRAILING.length) : route)
  const literal = pattern.filter((p) => !p.startsWith(':')).length
  return (wildcard ? 0 : 1_000_000) + pattern.length * 1_000 + literal
}

/** The route among `routes` that Spin would pick for `path`, if any. */
export function bestRoute<T extends { route: string }>(routes: T[], path: string): T | undefined {
  let best: T | undefined
  for (const r of routes) {
    if (!routeMatches(r.route, path)) continue
    if (best === undefined || specificity(r.route) > specificity(best.route)) best = r
  }
  return best
}
