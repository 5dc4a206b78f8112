// A self-contained API docs page: renders /openapi.json in the browser, no network beyond this server.
export function docsPage(): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>edgewatch API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1b1f24;background:#fff}
h1{margin-bottom:0}code,pre{font:13px ui-monospace,monospace;background:#f3f4f6;border-radius:4px}
pre{padding:.75rem;overflow:auto}section{border-top:1px solid #d0d7de;padding:.5rem 0}
.m{display:inline-block;min-width:3.5rem;font-weight:700;color:#0b5cad}.s{color:#57606a}
</style></head><body>
<h1>edgewatch API</h1><p class="s">Generated from <a href="openapi.json">openapi.json</a> (OpenAPI 3.1).</p>
<main id="routes"><p>Loading…</p></main>
<script>
fetch('openapi.json').then(r => r.json()).then(doc => {
  const main = document.getElementById('routes'); main.textContent = ''
  for (const [path, ops] of Object.entries(doc.paths)) for (const [method, op] of Object.entries(ops)) {
    const s = document.createElement('section')
    const h = document.createElement('h3')
    h.innerHTML = '<span class="m"></span> <code></code>'
    h.children[0].textContent = method.toUpperCase(); h.children[1].textContent = path
    const p = document.createElement('p'); p.textContent = (op.summary || '') + (op.description ? ' — ' + op.description : '')
    const params = (op.parameters || []).map(x => x.in + ' ' + x.name + (x.required ? ' (required)' : '') + (x.description ? ': ' + x.description : ''))
    const pre = document.createElement('pre'); pre.textContent = params.join('\\n') || 'no parameters'
    const codes = document.createElement('p'); codes.className = 's'
    codes.textContent = 'Responses: ' + Object.entries(op.responses || {}).map(([k, v]) => k + ' ' + v.description).join('; ')
    s.append(h, p, pre, codes); main.append(s)
  }
}).catch(e => { document.getElementById('routes').textContent = 'Could not load openapi.json: ' + e })
</script></body></html>`
}
