// The storage contract, bundled for a browser page (vitest replaced by vitest-shim.ts): the IndexedDB
// storage runs it in real Chromium. window.runStorageContract() answers each test's name and error.
import { generateKeyPair } from '../../agent/identity.js'
import { storageContract } from '../../agent/testing/storage-contract.js'
import { idbStorage, openMcuDatabase } from '../idb-storage.js'
import { runCollected } from './vitest-shim.js'

let n = 0
storageContract('IndexedDB', async () => {
  const db = await openMcuDatabase(`contract-${Date.now()}`)
  const device = `device-${n++}`
  return {
    storage: await idbStorage(db, device),
    // Another connection to the same database, as a reloaded page opens it.
    reopen: async () => idbStorage(await openMcuDatabase(db.name), device),
  }
})

/** The private key kept is the CryptoKey itself, and no one can export it. */
async function keyStaysInside(): Promise<string | null> {
  const db = await openMcuDatabase(`contract-key-${Date.now()}`)
  const storage = await idbStorage(db, 'k')
  if (storage.identity.extractableKeys) return 'extractableKeys is true'
  await storage.identity.saveIdentity({ keyPair: await generateKeyPair(false), deviceId: 'd' })
  const loaded = await (await idbStorage(await openMcuDatabase(db.name), 'k')).identity.loadIdentity()
  if (!loaded || loaded.keyPair.privateKey.extractable) return 'the loaded private key is extractable'
  try {
    await crypto.subtle.exportKey('jwk', loaded.keyPair.privateKey)
    return 'the private key could be exported'
  } catch {
    return null
  }
}

;(window as unknown as { runStorageContract: () => Promise<unknown> }).runStorageContract = async () => [
  ...(await runCollected()),
  { name: 'IndexedDB: the private key cannot be exported', error: await keyStaysInside() },
]
