// An OTLP/HTTP request body as a message: binary protobuf (`application/x-protobuf`) or OTLP/JSON
// (`application/json`). Decoded with @bufbuild/protobuf from code generated at build time (gen/,
// `npm run build:otlp`): it needs no eval or new Function at run time (workerd forbids them), only
// TextDecoder and BigInt, which Node, workerd and the Spin component's StarlingMonkey all have;
// protobufjs, the other maintained choice, builds its decoders with new Function unless its
// static code is generated, and is larger. OTLP/JSON differs from proto3 JSON in one place that
// matters: trace and span ids are hex, not base64 (they are turned into base64 before decoding).
import { type DescMessage, fromBinary, fromJson, type MessageShape } from '@bufbuild/protobuf'
import { base64Encode } from '@bufbuild/protobuf/wire'
import { BodyError } from '../../domain/ingest-body.js'
import { decodeUtf8 } from '../../http/body.js'

export type OtlpEncoding = 'protobuf' | 'json'

/** The encoding a Content-Type names, or undefined when OTLP/HTTP has none by that name. */
export function encodingOf(contentType: string | undefined | null): OtlpEncoding | undefined {
  const mime = (contentType ?? '').split(';')[0]!.trim().toLowerCase()
  if (mime === 'application/x-protobuf' || mime === 'application/protobuf') return 'protobuf'
  if (mime === 'application/json') return 'json'
  return undefined
}

const HEX_ID = /^(?:[0-9a-fA-F]{2})*$/

/**
 * The message a body holds. Throws BodyError saying why when it holds none: not protobuf of that
 * message, not JSON, not UTF-8, or nested past what the decoder's stack takes.
 */
export function decodeRequest<Desc extends DescMessage>(
  schema: Desc,
  bytes: Uint8Array,
  encoding: OtlpEncoding,
): MessageShape<Desc> {
  const what = schema.name
  try {
    if (encoding === 'protobuf') return fromBinary(schema, bytes, { readUnknownFields: false })
    const text = decodeUtf8(bytes)
    if (text === undefined) throw new BodyError('body is not valid UTF-8')
    return fromJson(schema, JSON.parse(text, hexIdsAsBase64), { ignoreUnknownFields: true })
  } catch (e) {
    if (e instanceof BodyError) throw e
    const why = e instanceof RangeError && /call stack/i.test(e.message) ? 'nested too deeply' : errorText(e)
    throw new BodyError(`body is not a valid OTLP ${what} (${encoding}): ${why}`)
  }
}

function hexIdsAsBase64(key: string, value: unknown): unknown {
  if (
    (key === 'traceId' || key === 'spanId' || key === 'trace_id' || key === 'span_id') &&
    typeof value === 'string'
  ) {
    if (!HEX_ID.test(value)) throw new Error(`${key} is not hex: ${JSON.stringify(value.slice(0, 40))}`)
    const bytes = new Uint8Array(value.length / 2)
    for (let i = 0; i < bytes.length; i++) bytes[i] = Number.parseInt(value.slice(2 * i, 2 * i + 2), 16)
    return base64Encode(bytes)
  }
  return value
}

function errorText(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).slice(0, 300)
}
