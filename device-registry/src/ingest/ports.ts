import type { ConfigReport, GatewayEvent, Reading, StatusMessage } from '@cityedge/contract';

/** Stores readings; the registry core implements it over SQLite or PostgreSQL. */
export interface TelemetrySink {
  /**
   * Stores one telemetry message atomically and idempotently by (gatewayId, seq): true when
   * stored, false when that (gatewayId, seq) was stored before (an MQTT duplicate). Rejects only
   * when storage failed; the ingest then retries and does not acknowledge the message meanwhile.
   */
  insertTelemetryBatch(gatewayId: string, seq: number, readings: readonly Reading[]): Promise<boolean>;
}

/** An event of an events message with its position in the message (bad events are left out). */
export interface IndexedEvent {
  idx: number;
  event: GatewayEvent;
}

/** Stores events and their effects (alarms, command results); the registry core implements it. */
export interface EventsSink {
  /**
   * Stores one events message and everything it causes in one transaction, idempotently by
   * (gatewayId, seq): true when stored, false for a duplicate. Rejects only when storage failed.
   */
  insertEventsBatch(gatewayId: string, seq: number, events: readonly IndexedEvent[]): Promise<boolean>;
}

/** Receives validated fleet messages; the registry core updates its gateway records. */
export interface FleetListener {
  /** A status (retained, live or the last will). `gatewayId` is the topic's, equal to `status.gw`. */
  onStatus(gatewayId: string, status: StatusMessage): void | Promise<void>;
  /** A configuration report; `report.gw` equals the topic's gateway id. */
  onReport(report: ConfigReport): void | Promise<void>;
}
