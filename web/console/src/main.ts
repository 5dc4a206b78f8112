// The live fleet console (served at /app/console/, and / redirects here).
const root = document.getElementById('console')!
root.textContent = 'edgewatch console'

export {}
