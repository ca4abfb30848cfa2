import type { Generated } from 'kysely';

/**
 * Tables of migration 0004_events_alarms_commands: the events gateways send (deduplicated by
 * the message's gateway and seq), the alarms they raise and clear, and the commands the registry
 * sends them. Same conventions as schema.ts (ms timestamps, 0/1 booleans, JSON as text).
 */

/** One row per events message stored: the dedup marker, committed with its events. */
export interface EventBatchesTable {
  gateway_id: string;
  seq: number;
  events: number;
  received_at: number;
}

export interface EventsTable {
  gateway_id: string;
  seq: number;
  /** Position in its message. */
  idx: number;
  type: string;
  /** Gateway time of the event. */
  ts: number;
  /** 'info' | 'warning' | 'alarm' | 'critical' */
  severity: string;
  device_id: string | null;
  message: string;
  /** JSON object or null. */
  data: string | null;
  /** JSON AlarmTransition the event carried explicitly, or null. */
  alarm: string | null;
  received_at: number;
}

/** One occurrence of an alarm condition on a gateway (ISA-18.2 life cycle). */
export interface AlarmsTable {
  id: Generated<number>;
  gateway_id: string;
  alarm_key: string;
  device_id: string | null;
  /** 'raised' | 'acknowledged' | 'cleared' | 'closed' (see alarm-service.ts). */
  state: string;
  severity: string;
  level: string | null;
  message: string;
  /** Gateway time of the first raise, and the seq/idx of that event. */
  raised_at: number;
  raised_seq: number;
  /** Raises after the first while the condition stayed active. */
  reraise_count: number;
  /** Gateway time of the event that cleared it. */
  cleared_at: number | null;
  cleared_seq: number | null;
  acknowledged_at: number | null;
  /** Account or token name. */
  acknowledged_by: string | null;
  ack_note: string | null;
  /** Registry time of the last change. */
  updated_at: number;
}

/** The newest transition applied per (gateway, key): events arriving out of order do not undo a newer one. */
export interface AlarmKeysTable {
  gateway_id: string;
  alarm_key: string;
  /** 'raised' | 'cleared' */
  state: string;
  seq: number;
  idx: number;
  ts: number;
}

export interface AlarmHistoryTable {
  id: Generated<number>;
  alarm_id: number;
  /** Gateway time for raises and clears, registry time for acknowledgements. */
  ts: number;
  /** 'raised' | 're-raised' | 'cleared' | 'acknowledged' */
  action: string;
  /** `gateway:<id>` or the account or token name. */
  actor: string;
  seq: number | null;
  severity: string | null;
  level: string | null;
  message: string | null;
  note: string | null;
}

export interface CommandsTable {
  /** Random, as signed (COMMAND_ID). */
  id: string;
  gateway_id: string;
  name: string;
  /** JSON: the arguments as signed (defaults applied). */
  args: string;
  /** Account or token name, as signed. */
  actor: string;
  /** The audit actor id, e.g. token:<id>. */
  actor_id: string;
  issued_at: number;
  expires_at: number;
  /** JSON SignedCommand. */
  signed: string;
  /** 'pending' | 'sent' | 'accepted' | 'progress' | 'succeeded' | 'failed' | 'refused' | 'expired' */
  state: string;
  state_at: number;
  /** JSON {done, total, message?} of the newest progress event, or null. */
  progress: string | null;
  /** JSON: the final result, or the partial result the newest progress carried. */
  result: string | null;
  /** JSON {code, message}. */
  error: string | null;
  /** 1 when the gateway answered with the stored result of an earlier delivery. */
  repeat: number;
  /** seq/idx of the newest result event applied: results arriving out of order never go back. */
  result_seq: number | null;
  result_idx: number | null;
  published_at: number | null;
  publish_count: number;
}

export interface OpsTables {
  event_batches: EventBatchesTable;
  events: EventsTable;
  alarms: AlarmsTable;
  alarm_keys: AlarmKeysTable;
  alarm_history: AlarmHistoryTable;
  commands: CommandsTable;
}
