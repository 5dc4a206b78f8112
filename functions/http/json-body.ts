// JSON request bodies for the routes that take one (not ingest): read within a size limit, parsed,
// and checked against a schema, every failure a 400 (413 above the limit) in the one error shape.
import type { z } from '@hono/zod-openapi'
import { readBody } from './body.js'
import { ApiError } from './errors.js'

/** Room for any of these bodies (a relay holds up to 1,000 parts: it passes its own, larger, limit). */
export const JSON_BODY_LIMIT = 64 * 1024

export async function readJson<T extends z.ZodType>(
  req: Request,
  schema: T,
  limit = JSON_BODY_LIMIT,
): Promise<z.infer<T>> {
  const type = (req.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase()
  if (type !== 'application/json')
    throw new ApiError(415, 'unsupported_media_type', 'send application/json', {
      contentType: type.slice(0, 100),
    })
  const { bytes, unreadable } = await readBody(req, limit)
  if (unreadable) throw new ApiError(400, unreadable.code, unreadable.message)
  let value: unknown
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
  } catch (e) {
    throw new ApiError(400, 'invalid_body', `the body is not JSON: ${(e as Error).message.slice(0, 200)}`)
  }
  const parsed = schema.safeParse(value)
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }))
    const message = issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ')
    throw new ApiError(400, 'invalid_request', message.slice(0, 1000), { issues: issues.slice(0, 20) })
  }
  return parsed.data
}
