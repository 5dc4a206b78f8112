import { describe, expect, it } from 'vitest'
import { tokenHash } from '../domain/fleet/crypto.js'
import { bearerToken, DeviceTokens } from './device-tokens.js'

describe('DeviceTokens', () => {
  it('finds a device token once and keeps it; other tokens are never looked up or kept', async () => {
    const asked: string[] = []
    const known = await tokenHash('ewd_pump-token')
    const tokens = new DeviceTokens({
      findDeviceToken: async (hash) => {
        asked.push(hash)
        return hash === known ? { deviceId: 'pump-7', expiresAt: 0, revoked: true } : undefined
      },
    })
    expect(await tokens.deviceOf('ewd_pump-token')).toBe('pump-7')
    expect(await tokens.deviceOf('ewd_pump-token')).toBe('pump-7')
    expect(asked).toHaveLength(1)
    expect(await tokens.deviceOf('ewd_unknown')).toBeUndefined()
    expect(await tokens.deviceOf('ewd_unknown')).toBeUndefined()
    expect(asked).toHaveLength(3)
    expect(await tokens.deviceOf('an-ingest-token')).toBeUndefined()
    expect(await tokens.deviceOf(undefined)).toBeUndefined()
    expect(asked).toHaveLength(3)
  })

  it('routes to shard 0 when the store cannot answer', async () => {
    const tokens = new DeviceTokens({
      findDeviceToken: async () => {
        throw new Error('no such table: device_tokens')
      },
    })
    expect(await tokens.deviceOf('ewd_x')).toBeUndefined()
  })

  it('reads the bearer token as the app does', () => {
    const req = (authorization: string) => new Request('http://x', { headers: { authorization } })
    expect(bearerToken(req('Bearer abc '))).toBe('abc')
    expect(bearerToken(req('bearer   abc'))).toBe('abc')
    expect(bearerToken(req('Basic abc'))).toBeUndefined()
  })
})
