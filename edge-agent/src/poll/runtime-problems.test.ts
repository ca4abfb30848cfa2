import { describe, expect, it } from 'vitest';
import { MAX_REPORTED_PROBLEMS } from '@cityedge/contract';
import type { DeviceStats } from './device-poller.js';
import type { LineStats } from './line-scheduler.js';
import { capProblems, problemsKey, runtimeProblems } from './runtime-problems.js';
import { systemCause } from './system-cause.js';

const device = (id: string, s: Partial<DeviceStats>): DeviceStats => ({
  id,
  polls: 0,
  answers: 0,
  failures: 0,
  consecutiveFailures: 0,
  quarantined: false,
  lastPollAt: undefined,
  lastError: undefined,
  failingSince: undefined,
  lastSlipMs: 0,
  maxSlipMs: 0,
  ...s,
});
const line = (id: string, devices: DeviceStats[], openError?: LineStats['openError']): LineStats => ({ id, description: id, connected: !openError, openError, transactions: 0, devices });

describe('runtime problems', () => {
  it('names a line that cannot be opened and tells never-answered, quarantined and failing devices apart', () => {
    const p = runtimeProblems([
      line('rs485', [device('river', { polls: 2, failures: 2, consecutiveFailures: 2, lastError: 'EDGE_MODBUS_PORT', failingSince: 10 })], { code: 'EDGE_MODBUS_PORT', cause: 'ENOENT', message: 'cannot open /dev/ttyUSB7', since: 10 }),
      line('bus', [
        device('ok', { polls: 5, answers: 5 }),
        device('new', {}),
        device('gone', { polls: 9, answers: 4, consecutiveFailures: 5, quarantined: true, lastError: 'EDGE_MODBUS_TIMEOUT', failingSince: 20 }),
        device('flaky', { polls: 9, answers: 8, consecutiveFailures: 1, lastError: 'EDGE_MODBUS_CRC', failingSince: 30 }),
      ]),
    ]);
    expect(p.lines).toEqual([{ line: 'rs485', code: 'EDGE_MODBUS_PORT', cause: 'ENOENT', message: 'cannot open /dev/ttyUSB7', since: 10 }]);
    expect(p.devices.map((d) => [d.dev, d.state, d.code, d.since])).toEqual([
      ['river', 'never-answered', 'EDGE_MODBUS_PORT', 10],
      ['gone', 'quarantined', 'EDGE_MODBUS_TIMEOUT', 20],
      ['flaky', 'failing', 'EDGE_MODBUS_CRC', 30],
    ]);
    expect(p.devices[0]!.message).toBe('never answered (2 polls, EDGE_MODBUS_PORT: line rs485 cannot be opened)');
  });

  it('lists a bounded number in a report and counts the rest', () => {
    const many = line('bus', Array.from({ length: MAX_REPORTED_PROBLEMS.devices + 7 }, (_, i) => device(`d${i}`, { polls: 1, consecutiveFailures: 1, lastError: 'EDGE_MODBUS_TIMEOUT' })));
    const capped = capProblems(runtimeProblems([many]));
    expect(capped.devices).toHaveLength(MAX_REPORTED_PROBLEMS.devices);
    expect(capped.omitted).toEqual({ lines: 0, devices: 7 });
  });

  it('changes its key only when what is wrong changes, not its times', () => {
    const a = runtimeProblems([line('bus', [device('x', { polls: 1, consecutiveFailures: 1, lastError: 'EDGE_MODBUS_TIMEOUT', failingSince: 1 })])]);
    const b = runtimeProblems([line('bus', [device('x', { polls: 7, consecutiveFailures: 7, lastError: 'EDGE_MODBUS_TIMEOUT', failingSince: 1 })])]);
    const c = runtimeProblems([line('bus', [device('x', { polls: 7, answers: 6, consecutiveFailures: 0 })])]);
    expect(problemsKey(a)).toBe(problemsKey(b));
    expect(problemsKey(a)).not.toBe(problemsKey(c));
  });

  it("recovers the errno name from serialport's message text and from socket errors", () => {
    expect(systemCause(new Error('Error: No such file or directory, cannot open /dev/ttyUSB7'))).toBe('ENOENT');
    expect(systemCause(new Error('x', { cause: new Error('Error: Permission denied, cannot open /dev/ttyS0') }))).toBe('EACCES');
    expect(systemCause(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }))).toBe('ECONNREFUSED');
    expect(systemCause(new Error('something else'))).toBeUndefined();
  });
});
