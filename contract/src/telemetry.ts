/**
 * Payloads a gateway publishes. Every telemetry and events message carries the gateway id and a
 * persisted, gap-free sequence number shared by both channels: a consumer drops MQTT
 * duplicates exactly by (gw, seq) and detects loss as a gap.
 */

/** Quality of a reading. Anything but "good" carries `value: null` and an error code. */
export type Quality = 'good' | 'bad';

export interface Reading {
  /** Device id from the gateway configuration. */
  dev: string;
  /** Point name from the device profile. */
  pt: string;
  /** Sample time, ms since the Unix epoch (UTC). */
  ts: number;
  /** Engineering value (scaled), or null when quality is not good. */
  v: number | boolean | string | null;
  q: Quality;
  /** Unit of the value, when the point has one. */
  u?: string;
  /** Error code when q is "bad", e.g. EDGE_MODBUS_TIMEOUT. */
  err?: string;
}

export type EventSeverity = 'info' | 'warning' | 'alarm' | 'critical';

export interface GatewayEvent {
  /** Event type, e.g. device.offline, buffer.overflow. */
  type: string;
  ts: number;
  severity: EventSeverity;
  /** Device the event concerns, if any. */
  dev?: string;
  message: string;
  data?: Record<string, unknown>;
  /** The alarm this event raises or clears (see alarms.ts); built-in event types map implicitly. */
  alarm?: { key: string; state: 'raised' | 'cleared'; level?: string };
}

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

/** Published on `{prefix}/{gw}/telemetry`. */
export interface TelemetryMessage {
  /** Payload schema version. */
  v: 1;
  gw: string;
  seq: number;
  readings: Reading[];
}

/** Published on `{prefix}/{gw}/events`. */
export interface EventsMessage {
  v: 1;
  gw: string;
  seq: number;
  events: GatewayEvent[];
}

/** Retained on `{prefix}/{gw}/status`; the last will is the same with state "offline". */
export interface StatusMessage {
  v: 1;
  gw: string;
  state: 'online' | 'offline';
  ts: number;
  agentVersion?: string;
  configVersion?: number;
  /** Rows waiting in the outbox. */
  backlog?: number;
  /** Devices that fail: the last poll failed, quarantined, or never answered (the `devices` of RuntimeProblems). */
  devicesFailing?: number;
  startedAt?: number;
}

/**
 * A line of the running configuration whose port or socket cannot be opened, as the gateway
 * sees it now (e.g. a serial adapter that is not plugged in).
 */
export interface LineProblem {
  line: string;
  /** EDGE_MODBUS_PORT */
  code: string;
  /** The system's reason when known: ENOENT (no such device), EACCES, EBUSY, ECONNREFUSED, ... */
  cause?: string;
  message: string;
  /** Since when (ms since the epoch). */
  since: number;
}

/**
 * A device of the running configuration that does not answer: `never-answered` (polled, no
 * valid answer since its line was started), `quarantined` (stopped answering; polled with
 * backoff) or `failing` (its last poll failed).
 */
export interface DeviceProblem {
  dev: string;
  line: string;
  state: 'never-answered' | 'quarantined' | 'failing';
  /** The last error code, e.g. EDGE_MODBUS_TIMEOUT or EDGE_MODBUS_PORT. */
  code?: string;
  message: string;
  since: number;
}

/** What is wrong on the lines and devices of the configuration a gateway runs. */
export interface RuntimeProblems {
  lines: LineProblem[];
  devices: DeviceProblem[];
  /** How many more there are than listed: a report lists at most MAX_REPORTED_PROBLEMS of each. */
  omitted?: { lines: number; devices: number };
}

/** The most lines and devices a report lists (the rest are counted in `omitted`), so it stays small. */
export const MAX_REPORTED_PROBLEMS = { lines: 20, devices: 100 } as const;

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
