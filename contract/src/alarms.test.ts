import { describe, expect, it } from 'vitest';
import { alarmTransitions } from './alarms.js';

describe('alarmTransitions', () => {
  it('maps the agent event types to alarms raised and cleared', () => {
    expect(alarmTransitions({ type: 'device.offline', dev: 'radar' })).toEqual([{ key: 'device.offline/radar', state: 'raised' }]);
    expect(alarmTransitions({ type: 'device.online', dev: 'radar' })).toEqual([{ key: 'device.offline/radar', state: 'cleared' }]);
    expect(alarmTransitions({ type: 'buffer.overflow' })).toEqual([{ key: 'buffer.overflow', state: 'raised' }]);
    expect(alarmTransitions({ type: 'buffer.recovered' })).toEqual([{ key: 'buffer.overflow', state: 'cleared' }]);
    expect(alarmTransitions({ type: 'camera.unreachable', dev: 'cam-1' })).toEqual([{ key: 'camera.fault/cam-1', state: 'raised', level: 'unreachable' }]);
    expect(alarmTransitions({ type: 'camera.online', dev: 'cam-1' })).toEqual([{ key: 'camera.fault/cam-1', state: 'cleared' }]);
    expect(alarmTransitions({ type: 'agent.started' })).toEqual([]);
  });

  it('raises and clears at once what reports a condition already over', () => {
    expect(alarmTransitions({ type: 'buffer.corrupt' }).map((t) => t.state)).toEqual(['raised', 'cleared']);
  });

  it('prefers the alarm an event carries', () => {
    expect(alarmTransitions({ type: 'flood.level', alarm: { key: 'flood.level/dongha', state: 'raised', level: 'BD_II' } })).toEqual([{ key: 'flood.level/dongha', state: 'raised', level: 'BD_II' }]);
  });
});
