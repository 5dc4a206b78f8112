// A second way for sealed batches to leave the device: published to a message broker (MQTT) instead
// of posted to /v1/ingest. The core only knows this port; a host that has a broker client supplies
// it (firmware/node/mqtt-publisher.ts on Node), so the core still imports nothing but what every JS
// host has. Enrolment, authentication, heartbeats and app downloads keep going over the transport:
// they ask the server a question and need its answer, which a broker does not give.
//
// Ack means durable, one hop at a time: publish() resolves only when the broker has taken the batch
// (MQTT: its PUBACK), and only then does the sender delete it from the outbox. The broker keeps it
// for the server (edgewatch's persistent session), and the server acknowledges the broker only
// after its commit.
import type { SealedBatch } from './ports.js'
import { TransportError } from './transport.js'

export interface BatchPublisher {
  /**
   * Publishes one batch of the device's records. Resolves when the broker has taken it; rejects with
   * a PublishError (the sender retries after a backoff, the batch staying in the outbox) or with the
   * signal's reason when the agent stops. Publishing the same batch again must be harmless: the
   * server recognises it (edgewatch keys a message by its topic and payload).
   */
  publish(deviceId: string, batch: SealedBatch, signal: AbortSignal): Promise<void>
  /** Ends the connection; the agent calls it once, when it has ended. */
  close(): Promise<void>
}

/**
 * The broker did not take the batch: it is unreachable (`network`), refused the connection
 * (`broker_refused`, e.g. wrong credentials) or refused the message (`broker_refused`, e.g. an ACL).
 * A kind of TransportError, so the sender treats it as "no answer": keep the batch, retry later.
 */
export class PublishError extends TransportError {
  override name = 'PublishError'
  constructor(
    readonly code: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options)
  }
}
