import type { Generated } from 'kysely';
import type { AccountTables } from './accounts-schema.js';
import type { CameraTables } from './camera-schema.js';
import type { OpsTables } from './ops-schema.js';
import type { RulesTables } from './migration-gateway-rules.js';

/**
 * Table shapes as both SQLite and PostgreSQL return them: timestamps are bigint ms (parsed to
 * number on PostgreSQL), booleans are 0/1 integers, JSON is text.
 */
export interface SitesTable {
  id: string;
  name: string;
  lat: number | null;
  lon: number | null;
  time_zone: string;
  created_at: number;
  updated_at: number;
}

export interface GatewaysTable {
  id: string;
  site_id: string | null;
  name: string | null;
  /** JSON array of strings. */
  tags: string;
  created_at: number;
  updated_at: number;
  /** Hash of the MQTT password (sha256$ since the province load, scrypt$ for older enrollments); null until enrolled. */
  mqtt_password_hash: string | null;
  enrolled_at: number | null;
  hostname: string | null;
  /** 'unknown' | 'online' | 'offline' */
  status: string;
  status_at: number | null;
  last_seen: number | null;
  agent_version: string | null;
  config_version_running: number | null;
  backlog: number | null;
  devices_failing: number | null;
  /** JSON GatewayProblems: what the gateway last reported wrong on its lines and devices (migration 0003). */
  runtime_problems: string | null;
  /** Highest configuration version ever given to this gateway; versions are never reused. */
  last_config_version: number;
}

export interface EnrollmentCodesTable {
  code_hash: string;
  gateway_id: string;
  created_at: number;
  created_by: string;
  expires_at: number;
  used_at: number | null;
}

export interface LinesTable {
  gateway_id: string;
  id: string;
  type: string;
  path: string | null;
  host: string | null;
  port: number | null;
  /** JSON object: serial settings and scheduler knobs. */
  settings: string;
  created_at: number;
  updated_at: number;
}

export interface DevicesTable {
  gateway_id: string;
  id: string;
  line_id: string;
  name: string | null;
  profile: string;
  unit_id: number | null;
  poll_interval_ms: number | null;
  address_offset: number;
  timeout_ms: number | null;
  enabled: number;
  /** JSON object of point overrides. */
  points: string;
  created_at: number;
  updated_at: number;
}

export interface CamerasTable {
  gateway_id: string;
  id: string;
  name: string;
  host: string;
  onvif_port: number;
  username: string | null;
  /** AES-256-GCM ciphertext of the password (see security/secret-box.ts). */
  password_enc: string | null;
  /** JSON object for inventory found by probing (issue 4). */
  inventory: string | null;
  created_at: number;
  updated_at: number;
}

export interface ConfigVersionsTable {
  gateway_id: string;
  version: number;
  /** The configuration document as JSON text. */
  document: string;
  /** The SignedConfig as JSON text. */
  signed: string;
  /** 'composed' | 'document' | 'rollback' */
  source: string;
  based_on: number | null;
  rollout_id: string | null;
  note: string | null;
  created_by: string;
  created_at: number;
  /** 'pending' | 'delivered' | 'applied' | 'committed' | 'rejected' | 'rolled_back' */
  state: string;
  reason: string | null;
  state_at: number;
}

export interface RolloutsTable {
  id: string;
  /** 'site' | 'tag' */
  target_kind: string;
  target: string;
  canary_size: number;
  /** 'canary' | 'rolling' | 'halted' | 'completed' */
  state: string;
  reason: string | null;
  note: string | null;
  created_by: string;
  created_at: number;
  updated_at: number;
}

export interface RolloutGatewaysTable {
  rollout_id: string;
  gateway_id: string;
  /** 'canary' | 'rest' */
  phase: string;
  position: number;
  version: number | null;
  /** 'waiting' | 'pending' | 'delivered' | 'applied' | 'committed' | 'rejected' | 'rolled_back' | 'failed' */
  state: string;
  reason: string | null;
  updated_at: number;
}

export interface ApiTokensTable {
  id: string;
  name: string;
  role: string;
  token_hash: string;
  created_at: number;
  created_by: string;
  revoked_at: number | null;
}

export interface AuditLogTable {
  id: Generated<number>;
  ts: number;
  actor_id: string;
  actor_name: string | null;
  action: string;
  target_type: string;
  target_id: string | null;
  /** JSON object, never with secrets. */
  details: string | null;
  source_ip: string | null;
}

export interface TelemetryBatchesTable {
  gateway_id: string;
  seq: number;
  readings: number;
  received_at: number;
}

export interface TelemetryTable {
  gateway_id: string;
  seq: number;
  idx: number;
  device_id: string;
  point: string;
  ts: number;
  /** JSON text of the value (number, boolean, string or null). */
  value: string;
  quality: string;
  unit: string | null;
  err: string | null;
}

export interface RegistryTables extends CameraTables, OpsTables, RulesTables, AccountTables {
  sites: SitesTable;
  gateways: GatewaysTable;
  enrollment_codes: EnrollmentCodesTable;
  lines: LinesTable;
  devices: DevicesTable;
  cameras: CamerasTable;
  config_versions: ConfigVersionsTable;
  rollouts: RolloutsTable;
  rollout_gateways: RolloutGatewaysTable;
  api_tokens: ApiTokensTable;
  audit_log: AuditLogTable;
  telemetry_batches: TelemetryBatchesTable;
  telemetry: TelemetryTable;
}

export type Dialect = 'sqlite' | 'postgres';
