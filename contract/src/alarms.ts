import * as z from 'zod';
import { EventType } from './telemetry.js';
import type { GatewayEvent } from './payloads.js';

/**
 * Alarms: conditions a person must see and acknowledge. A gateway reports them as events; an
 * event either carries its alarm transition explicitly (`alarm: { key, state }`, what rules at
 * the edge use) or is one of the built-in event types mapped below. Central keeps one alarm per
 * (gateway, key) with the ISA-18.2 life cycle: raised (active, unacknowledged) -> acknowledged
 * by a person and/or cleared by the gateway (condition gone); it is closed once both happened.
 * A raise after a clear opens a new occurrence.
 */
export const AlarmState = z.enum(['raised', 'cleared']);
export type AlarmState = z.infer<typeof AlarmState>;

/** Alarm keys: stable per condition, e.g. `device.offline/river-radar`, `flood.level/dongha`. */
export const ALARM_KEY = /^[a-z][a-z0-9_.-]{0,63}(\/[A-Za-z0-9_.:-]{1,64}){0,3}$/;

export const AlarmTransition = z.strictObject({
  key: z.string().regex(ALARM_KEY, 'expected an alarm key like "device.offline/river-radar"'),
  state: AlarmState,
  /** Optional level within the alarm, e.g. BD_II for a flood alarm or a VN_AQI category. */
  level: z.string().min(1).max(32).optional(),
});
export type AlarmTransition = z.infer<typeof AlarmTransition>;

/** Camera events whose state is a fault (camera.online clears). */
const CAMERA_FAULTS = new Set(['camera.degraded', 'camera.unauthorized', 'camera.unreachable', 'camera.misconfigured']);

/**
 * The alarm transition an event stands for, if any: its explicit `alarm`, else the built-in
 * mapping of the agent's own event types. Events that report a condition already over
 * (storage errors, a corrupt buffer set aside) raise and clear in one: they wait only for an
 * acknowledgement.
 */
export function alarmTransitions(event: Pick<GatewayEvent, 'type' | 'dev'> & { alarm?: AlarmTransition | undefined }): AlarmTransition[] {
  if (event.alarm) return [event.alarm];
  const dev = event.dev;
  switch (event.type) {
    case EventType.deviceOffline:
      return dev ? [{ key: `device.offline/${dev}`, state: 'raised' }] : [];
    case EventType.deviceOnline:
      return dev ? [{ key: `device.offline/${dev}`, state: 'cleared' }] : [];
    case EventType.bufferOverflow:
      return [{ key: 'buffer.overflow', state: 'raised' }];
    case EventType.bufferRecovered:
      return [{ key: 'buffer.overflow', state: 'cleared' }];
    case EventType.bufferStorageError:
    case EventType.bufferCorrupt:
      return [
        { key: event.type, state: 'raised' },
        { key: event.type, state: 'cleared' },
      ];
    case 'camera.online':
      return dev ? [{ key: `camera.fault/${dev}`, state: 'cleared' }] : [];
    default:
      if (CAMERA_FAULTS.has(event.type) && dev) return [{ key: `camera.fault/${dev}`, state: 'raised', level: event.type.slice('camera.'.length) }];
      return [];
  }
}

/**
 * The event a gateway sends when a technician acknowledged one of its rule alarms there (the
 * `alarm.ack` command): the local warning is silenced, the alarm stays raised. Its data names
 * the alarm (`key`) and who acknowledged it (`actor`).
 */
export const ALARM_ACKNOWLEDGED = 'alarm.acknowledged';

/** The alarm and person of an `alarm.acknowledged` event, if it is one and well formed. */
export function siteAcknowledgement(event: { type: string; data?: Record<string, unknown> | null | undefined }): { key: string; actor: string } | undefined {
  if (event.type !== ALARM_ACKNOWLEDGED || !event.data) return undefined;
  const { key, actor } = event.data;
  if (typeof key !== 'string' || !ALARM_KEY.test(key)) return undefined;
  return { key, actor: typeof actor === 'string' && actor.length > 0 ? actor.slice(0, 128) : 'unknown' };
}
