// The simulated-MCU page (served at /app/mcu/).
const root = document.getElementById('mcu')!
root.textContent = 'edgewatch simulated MCUs'

export {}
