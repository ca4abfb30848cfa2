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
}

/** Event types the agent emits. */
export const EventType = {
  deviceOnline: 'device.online',
  deviceOffline: 'device.offline',
  bufferOverflow: 'buffer.overflow',
  bufferStorageError: 'buffer.storage_error',
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
  /** Devices whose last poll failed. */
  devicesFailing?: number;
  startedAt?: number;
}

/** The two sequenced streams, in the priority the forwarder drains them. */
export type Stream = 'events' | 'telemetry';
