import type { GatewayEvent, Reading, StatusMessage } from './payloads.js';

/**
 * The gateway's event types and the wire encoders of its payloads (schemas: payloads.ts).
 */

/** Event types the agent emits. */
export const EventType = {
  deviceOnline: 'device.online',
  deviceOffline: 'device.offline',
  bufferOverflow: 'buffer.overflow',
  bufferStorageError: 'buffer.storage_error',
  /** Space came back after an overflow; data carries what the episode dropped. */
  bufferRecovered: 'buffer.recovered',
  /** The outbox file failed its integrity check at start and was set aside. */
  bufferCorrupt: 'buffer.corrupt',
  agentStarted: 'agent.started',
} as const;

/** The two sequenced streams, in the priority the forwarder drains them. */
export type Stream = 'events' | 'telemetry';

/**
 * Wire encoders. The outbox keeps each reading and event as its JSON text, so a message is built
 * by concatenation; these are the only places the message envelopes are spelled. The output is
 * deterministic: the same rows under the same seq always give the same bytes.
 */

/** The stored form of a reading: its JSON text. */
export function encodeReading(reading: Reading): string {
  return JSON.stringify(reading);
}

/** The stored form of an event: its JSON text. */
export function encodeEvent(event: GatewayEvent): string {
  return JSON.stringify(event);
}

/** A TelemetryMessage from readings already encoded with encodeReading. */
export function encodeTelemetryMessage(gw: string, seq: number, readingJson: readonly string[]): string {
  return `{"v":1,"gw":${JSON.stringify(gw)},"seq":${seq},"readings":[${readingJson.join(',')}]}`;
}

/** An EventsMessage from events already encoded with encodeEvent. */
export function encodeEventsMessage(gw: string, seq: number, eventJson: readonly string[]): string {
  return `{"v":1,"gw":${JSON.stringify(gw)},"seq":${seq},"events":[${eventJson.join(',')}]}`;
}

/** The message of one stream: events or telemetry. */
export function encodeStreamMessage(stream: Stream, gw: string, seq: number, bodies: readonly string[]): string {
  return stream === 'events' ? encodeEventsMessage(gw, seq, bodies) : encodeTelemetryMessage(gw, seq, bodies);
}

/** A StatusMessage, fields in a fixed order, undefined fields left out. */
export function encodeStatus(status: StatusMessage): string {
  const { v, gw, state, ts, agentVersion, configVersion, backlog, devicesFailing, startedAt } = status;
  return JSON.stringify({ v, gw, state, ts, agentVersion, configVersion, backlog, devicesFailing, startedAt });
}
