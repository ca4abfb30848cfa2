import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { pino } from 'pino';
import { builtinProfiles, createCatalog, resolveGatewayConfig, type GatewayEvent, type Reading } from '@cityedge/contract';
import { ModbusError, type ModbusTransport } from '@cityedge/drivers';
import { LineScheduler, interFrameGapMs } from './line-scheduler.js';

/**
 * An in-memory bus for the scheduling logic only (fake timers drive it). Protocol behaviour is
 * tested against the simulators over real sockets in tests/e2e.
 */
class FakeBus implements ModbusTransport {
  readonly kind = 'rtu' as const;
  readonly description = 'fake bus';
  isOpen = false;
  readonly dead = new Set<number>();
  readonly registers = new Map<number, number>();
  active = 0;
  maxActive = 0;
  readonly writes: Array<{ unit: number; address: number; values: number[] }> = [];

  async open() {
    this.isOpen = true;
  }
  async close() {
    this.isOpen = false;
  }
  private transact<T>(unit: number, timeoutMs: number, answer: () => T): Promise<T> {
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    return new Promise<T>((resolve, reject) => {
      const done = (fn: () => void) => {
        this.active--;
        fn();
      };
      if (this.dead.has(unit)) setTimeout(() => done(() => reject(new ModbusError('EDGE_MODBUS_TIMEOUT', 'no reply'))), timeoutMs);
      else setTimeout(() => done(() => resolve(answer())), 20);
    });
  }
  readRegisters(unit: number, _t: 'holding' | 'input', address: number, count: number, timeoutMs: number) {
    return this.transact(unit, timeoutMs, () => Array.from({ length: count }, (_, i) => this.registers.get(address + i) ?? 100 * unit + address + i));
  }
  readBits(unit: number, _t: 'coil' | 'discrete', _a: number, count: number, timeoutMs: number) {
    return this.transact(unit, timeoutMs, () => Array.from({ length: count }, () => false));
  }
  writeRegister(unit: number, address: number, value: number, timeoutMs: number) {
    return this.transact(unit, timeoutMs, () => void this.writes.push({ unit, address, values: [value] }));
  }
  writeRegisters(unit: number, address: number, values: number[], timeoutMs: number) {
    return this.transact(unit, timeoutMs, () => void this.writes.push({ unit, address, values }));
  }
  writeCoil() {
    return Promise.resolve();
  }
  writeCoils() {
    return Promise.resolve();
  }
}

function line(devices: object[], extra: object = {}) {
  const r = resolveGatewayConfig(
    {
      gateway: { id: 'gw-test' },
      forwarding: { brokerUrl: 'mqtt://127.0.0.1:1' },
      lines: [{ id: 'bus', type: 'rtu', path: '/dev/null', timeoutMs: 300, retries: 1, ...extra, devices }],
    },
    createCatalog(builtinProfiles),
  );
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.value.lines[0]!;
}

class Sink {
  readings: Reading[] = [];
  events: GatewayEvent[] = [];
  appendReadings(r: Reading[]) {
    this.readings.push(...r);
  }
  appendEvent(e: GatewayEvent) {
    this.events.push(e);
  }
  polls(dev: string) {
    return this.readings.filter((r) => r.dev === dev && r.pt === 'temperature').length;
  }
}

/** Stops the scheduler, letting fake time run so the transaction in flight can finish. */
async function stop(s: LineScheduler) {
  const stopped = s.stop();
  await vi.advanceTimersByTimeAsync(2000);
  await stopped;
}

describe('line scheduler', () => {
  beforeEach(() => vi.useFakeTimers({ now: 1_700_000_000_000 }));
  afterEach(() => vi.useRealTimers());

  it('keeps the schedule of answering devices while one device on the line is dead', async () => {
    const bus = new FakeBus();
    bus.dead.add(2);
    const sink = new Sink();
    const devices = [1, 2, 3].map((u) => ({ id: `sht-${u}`, profile: 'sht20', unitId: u, pollIntervalMs: 1000 }));
    const s = new LineScheduler({ line: line(devices), transport: bus, sink, logger: pino({ level: 'silent' }) });
    s.start();
    await vi.advanceTimersByTimeAsync(60_000);
    await stop(s);

    expect(bus.maxActive).toBe(1); // one transaction at a time on a bus
    expect(sink.polls('sht-1')).toBeGreaterThanOrEqual(58);
    expect(sink.polls('sht-3')).toBeGreaterThanOrEqual(58);
    // The dead device is probed with backoff, not every second with retries.
    expect(sink.polls('sht-2')).toBeLessThan(15);
    const dead = sink.readings.filter((r) => r.dev === 'sht-2');
    expect(dead.every((r) => r.q === 'bad' && r.v === null && r.err === 'EDGE_MODBUS_TIMEOUT')).toBe(true);
    expect(sink.events.filter((e) => e.type === 'device.offline').map((e) => e.dev)).toEqual(['sht-2']);
    const stats = s.stats().devices.find((d) => d.id === 'sht-2')!;
    expect(stats.quarantined).toBe(true);
  });

  it('polls the devices of a line back to back, once an interval, and counts no slip for it', async () => {
    const bus = new FakeBus();
    const sink = new Sink();
    const appendedAt = new Map<string, number[]>();
    const timed = {
      appendReadings(r: Reading[]) {
        const dev = r[0]!.dev;
        appendedAt.set(dev, [...(appendedAt.get(dev) ?? []), Date.now()]);
        sink.appendReadings(r);
      },
      appendEvent: (e: GatewayEvent) => sink.appendEvent(e),
    };
    const devices = [1, 2, 3, 4].map((u) => ({ id: `sht-${u}`, profile: 'sht20', unitId: u, pollIntervalMs: 1000 }));
    const s = new LineScheduler({ line: line(devices), transport: bus, sink: timed, logger: pino({ level: 'silent' }) });
    s.start();
    await vi.advanceTimersByTimeAsync(10_500);
    await stop(s);

    // One transaction takes the fake bus 20 ms, plus 3.6 ms between frames at 9600 baud.
    const poll = 20 + interFrameGapMs(line([]).config);
    const cycles = appendedAt.get('sht-1')!.length;
    expect(cycles).toBeGreaterThanOrEqual(10);
    for (let c = 0; c < cycles; c++) {
      const burst = devices.map((d) => appendedAt.get(d.id)![c]!);
      // Each device right after the one before it: the line is never left idle inside a burst...
      for (let i = 1; i < burst.length; i++) expect(burst[i]! - burst[i - 1]!).toBeLessThanOrEqual(Math.ceil(poll));
      // ...and the bursts are one interval apart.
      if (c > 0) expect(burst[0]! - appendedAt.get('sht-1')![c - 1]!).toBe(1000);
    }
    // Waiting behind the others in the first burst is a device's slot, not lateness.
    expect(s.stats().devices.map((d) => d.maxSlipMs)).toEqual([0, 0, 0, 0]);
  });

  it('scales values, and reports a device that comes back', async () => {
    const bus = new FakeBus();
    bus.registers.set(1, 305).set(2, 546);
    bus.dead.add(1);
    const sink = new Sink();
    const polls: Array<[string, boolean]> = [];
    const s = new LineScheduler({
      line: line([{ id: 'sht', profile: 'sht20', unitId: 1, pollIntervalMs: 1000 }], { quarantineAfter: 2, maxBackoffMs: 4000 }),
      transport: bus,
      sink,
      logger: pino({ level: 'silent' }),
      onPoll: (_device, outcome, _ms, failingBefore) => polls.push([outcome, failingBefore]),
    });
    s.start();
    await vi.advanceTimersByTimeAsync(10_000);
    bus.dead.delete(1);
    await vi.advanceTimersByTimeAsync(10_000);
    await stop(s);
    expect(sink.events.map((e) => e.type)).toEqual(['device.offline', 'device.online']);
    // What the agent looks at for problem reports: failed polls, and the first good one after them.
    const back = polls.findIndex(([outcome]) => outcome === 'ok');
    expect(polls.slice(0, back + 2)).toEqual([['failed', false], ...polls.slice(1, back).map(() => ['failed', true]), ['ok', true], ['ok', false]]);
    const last = sink.readings.filter((r) => r.dev === 'sht').slice(-2);
    expect(last.map((r) => [r.pt, r.v, r.q, r.u])).toEqual([
      ['temperature', 30.5, 'good', 'C'],
      ['humidity', 54.6, 'good', '%'],
    ]);
  });

  it('serves writes between polls', async () => {
    const bus = new FakeBus();
    const sink = new Sink();
    const s = new LineScheduler({
      line: line([{ id: 'lamp', profile: 'intesis-dali-ballast', unitId: 1, addressOffset: 100 }]),
      transport: bus,
      sink,
      logger: pino({ level: 'silent' }),
    });
    s.start();
    const w = s.write('lamp', 'arc_power', 55);
    await vi.advanceTimersByTimeAsync(1000);
    await w;
    await expect(s.write('lamp', 'level', 10)).rejects.toThrow(/not writable/);
    await stop(s);
    expect(bus.writes).toEqual([{ unit: 1, address: 115, values: [55] }]);
  });

  it('keeps 3.5 character times between frames', () => {
    const l = line([]).config;
    expect(interFrameGapMs(l)).toBeCloseTo(3.646, 2); // 9600 8N1: 10 bits a character
    expect(interFrameGapMs({ ...l, parity: 'even' } as typeof l)).toBeCloseTo(4.01, 2);
    expect(interFrameGapMs({ ...l, baudRate: 115200 } as typeof l)).toBe(1.75);
  });
});
