// The web app (web/, built by `npm run build:web`) served by the Node server at /app/: the replay
// tool at /app/, the fleet console at /app/console/ (where / leads), the simulated MCUs at /app/mcu/.
import { existsSync } from 'node:fs'
import { join, relative } from 'node:path'
import { serveStatic } from '@hono/node-server/serve-static'
import { Hono } from 'hono'
import { projectRoot } from '../../kernels/node.js'
import { errorBody } from '../http/errors.js'

export const WEB_PATH = '/app/'

export function webAppDir(): string {
  return join(projectRoot(), 'web', 'dist')
}

/** The API app with the built web app in front of it at /app/. */
export function withWebApp(
  api: { fetch: (req: Request, env?: never) => Response | Promise<Response> },
  dir = webAppDir(),
): Hono {
  const outer = new Hono()
  const built = existsSync(join(dir, 'index.html'))
  outer.get('/app', (c) => c.redirect(WEB_PATH, 301))
  // The console is the front page.
  outer.get('/', (c) => c.redirect(`${WEB_PATH}console/`, 302))
  if (built) {
    // The service worker must never be served stale, or a new build would never reach the browser.
    outer.use('/app/sw.js', async (c, next) => {
      await next()
      c.header('Cache-Control', 'no-cache')
    })
    outer.use(
      '/app/*',
      serveStatic({
        root: relative(process.cwd(), dir) || '.',
        rewriteRequestPath: (path) => path.slice(WEB_PATH.length - 1),
      }),
    )
  } else {
    outer.get('/app/*', (c) =>
      c.json(
        errorBody('not_built', 'the web app is not built: run npm run build (or npm run build:web)'),
        404,
      ),
    )
  }
  outer.all('*', (c) => api.fetch(c.req.raw, c.env as never))
  return outer
}
