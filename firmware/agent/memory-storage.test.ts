import { memoryStorage } from './memory-storage.js'
import { storageContract } from './testing/storage-contract.js'

storageContract('memory storage', async () => {
  const storage = memoryStorage()
  return { storage, reopen: async () => storage }
})
