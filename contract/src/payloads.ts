import * as z from 'zod';
import { AlarmTransition } from './alarms.js';
import { GATEWAY_ID } from './topics.js';

/**
 * The payloads a gateway publishes, each one zod schema with its type inferred from it: the agent
 * builds them (typed by these types), the registry accepts them with these schemas, and tests
 * round-trip the agent's encodings through them. Unknown extra fields are tolerated and dropped
 * (forward compatible within v1). Every telemetry and events message carries the gateway id and a
 * persisted, gap-free sequence number shared by both channels: a consumer drops MQTT duplicates
 * exactly by (gw, seq).
 */

/** The gateway-id rule (topic level and broker username), spelled once in topics.ts. */
export const GatewayId = z.string().regex(GATEWAY_ID, 'expected lowercase letters, digits, "-" and "_" (at most 63), starting with a letter or digit');
const EpochMs = z.int().min(0).max(Number.MAX_SAFE_INTEGER);
const Seq = z.int().min(0).max(Number.MAX_SAFE_INTEGER);

/** Quality of a reading. Anything but "good" carries `v: null` and an error code. */
export const Quality = z.enum(['good', 'bad']);
export type Quality = z.infer<typeof Quality>;

export const Reading = z.object({
  /** Device id from the gateway configuration. */
  dev: z.string().min(1).max(64),
  /** Point name from the device profile. */
  pt: z.string().min(1).max(64),
  /** Sample time, ms since the Unix epoch (UTC). */
  ts: EpochMs,
  /** Engineering value (scaled), or null when quality is not good. */
  v: z.union([z.number(), z.boolean(), z.string(), z.null()]),
  q: Quality,
  /** Unit of the value, when the point has one. */
  u: z.string().max(32).optional(),
  /** Error code when q is "bad", e.g. EDGE_MODBUS_TIMEOUT (see edge-errors.ts). */
  err: z.string().max(64).optional(),
});
export type Reading = z.infer<typeof Reading>;

export const EventSeverity = z.enum(['info', 'warning', 'alarm', 'critical']);
export type EventSeverity = z.infer<typeof EventSeverity>;

export const GatewayEvent = z.object({
  /** Event type, e.g. device.offline, buffer.overflow. */
  type: z.string().regex(/^[a-z][a-z0-9_.-]{0,63}$/, 'expected an event type like "device.offline"'),
  ts: EpochMs,
  severity: EventSeverity,
  /** Device the event concerns, if any. */
  dev: z.string().min(1).max(64).optional(),
  message: z.string().max(64 * 1024),
  data: z.record(z.string(), z.unknown()).optional(),
  /** The alarm this event raises or clears (see alarms.ts); built-in event types map implicitly. */
  alarm: AlarmTransition.optional(),
});
export type GatewayEvent = z.infer<typeof GatewayEvent>;

/** Published on `{prefix}/{gw}/telemetry`. */
export const TelemetryMessage = z.object({
  /** Payload schema version. */
  v: z.literal(1),
  gw: GatewayId,
  seq: Seq,
  readings: z.array(Reading),
});
export type TelemetryMessage = z.infer<typeof TelemetryMessage>;

/** Published on `{prefix}/{gw}/events`. */
export const EventsMessage = z.object({ v: z.literal(1), gw: GatewayId, seq: Seq, events: z.array(GatewayEvent) });
export type EventsMessage = z.infer<typeof EventsMessage>;

/** An events message whose events a receiver checks one by one (one bad event does not drop the others). */
export const EventsEnvelope = EventsMessage.extend({ events: z.array(z.unknown()).max(10_000) });

/** Retained on `{prefix}/{gw}/status`; the last will is the same with state "offline". */
export const StatusMessage = z.object({
  v: z.literal(1),
  gw: GatewayId,
  state: z.enum(['online', 'offline']),
  ts: EpochMs,
  agentVersion: z.string().max(64).optional(),
  configVersion: z.int().min(0).optional(),
  /** Rows waiting in the outbox. */
  backlog: z.int().min(0).optional(),
  /** Devices that fail: the last poll failed, quarantined, or never answered (the `devices` of RuntimeProblems). */
  devicesFailing: z.int().min(0).optional(),
  startedAt: EpochMs.optional(),
});
export type StatusMessage = z.infer<typeof StatusMessage>;

/**
 * A line of the running configuration whose port or socket cannot be opened, as the gateway
 * sees it now (e.g. a serial adapter that is not plugged in).
 */
export const LineProblem = z.object({
  line: z.string().min(1).max(64),
  /** EDGE_MODBUS_PORT, EDGE_FIRMATA_PORT */
  code: z.string().min(1).max(64),
  /** The system's reason when known: ENOENT (no such device), EACCES, EBUSY, ECONNREFUSED, ... */
  cause: z.string().max(32).optional(),
  message: z.string().max(1000),
  /** Since when (ms since the epoch). */
  since: EpochMs,
});
export type LineProblem = z.infer<typeof LineProblem>;

/**
 * A device of the running configuration that does not answer: `never-answered` (polled, no
 * valid answer since its line was started), `quarantined` (stopped answering; polled with
 * backoff) or `failing` (its last poll failed).
 */
export const DeviceProblem = z.object({
  dev: z.string().min(1).max(64),
  line: z.string().min(1).max(64),
  state: z.enum(['never-answered', 'quarantined', 'failing']),
  /** The last error code, e.g. EDGE_MODBUS_TIMEOUT or EDGE_MODBUS_PORT. */
  code: z.string().max(64).optional(),
  message: z.string().max(1000),
  since: EpochMs,
});
export type DeviceProblem = z.infer<typeof DeviceProblem>;

/** The most lines and devices a report lists (the rest are counted in `omitted`), so it stays small. */
export const MAX_REPORTED_PROBLEMS = { lines: 20, devices: 100 } as const;

/** What is wrong on the lines and devices of the configuration a gateway runs. */
export const RuntimeProblems = z.object({
  lines: z.array(LineProblem).max(MAX_REPORTED_PROBLEMS.lines),
  devices: z.array(DeviceProblem).max(MAX_REPORTED_PROBLEMS.devices),
  /** How many more there are than listed: a report lists at most MAX_REPORTED_PROBLEMS of each. */
  omitted: z.object({ lines: z.int().min(0), devices: z.int().min(0) }).optional(),
});
export type RuntimeProblems = z.infer<typeof RuntimeProblems>;

/** What a gateway says about a configuration, on `{prefix}/{gw}/config/report`. */
export const ConfigReportState = z.enum(['delivered', 'applied', 'committed', 'rejected', 'rolled_back']);
export type ConfigReportState = z.infer<typeof ConfigReportState>;

export const ConfigReport = z.object({
  v: z.literal(1),
  gw: GatewayId,
  version: z.int().min(0),
  state: ConfigReportState,
  ts: EpochMs,
  /** Why it was rejected or rolled back. */
  reason: z.string().max(2000).optional(),
  /** The version the gateway runs after this report. */
  running: z.int().min(0),
  /**
   * Lines and devices of the running version that have problems. The gateway sends them with
   * every report and publishes the report again (same version and state) whenever they change.
   */
  problems: RuntimeProblems.optional(),
});
export type ConfigReport = z.infer<typeof ConfigReport>;
