import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModbusError, type ModbusTransport } from '@cityedge/drivers';
import type { FaultInput, Simulation } from '@cityedge/simulators';

/**
 * One behavioural contract for every Modbus transport (as MQTT.js runs one store suite against
 * every store): the same calls against simulated devices on a real wire (Modbus TCP, RTU over
 * TCP, RTU over a pseudo-terminal), with the same faults injected on that wire.
 *
 * The bus the factory starts has: unit 1 a relay board (coils, discrete inputs), unit 2 an SHT20
 * (input registers 30.5 C / 54.6 %, writable holding corrections), unit 5 an SHT20 whose fault
 * each test sets.
 */
export interface TransportUnderTest {
  transport: ModbusTransport;
  sim: Simulation;
  /** Per-call timeout that suits the wire (a 9600-baud line needs more than loopback TCP). */
  timeoutMs: number;
  close(): Promise<void>;
}

export const SUITE_DEVICES = [
  { id: 'relays', model: 'relay-io' as const, unitId: 1, options: { inputs: [true, false, true] } },
  { id: 'climate', model: 'sht20' as const, unitId: 2, options: { temperature: 30.5, humidity: 54.6 } },
  { id: 'faulty', model: 'sht20' as const, unitId: 5, options: { temperature: 20, humidity: 50 } },
];

const codeOf = (p: Promise<unknown>) =>
  p.then(
    (v) => `value ${JSON.stringify(v)}`,
    (e: unknown) => (e instanceof ModbusError ? e.code : `not a ModbusError: ${String(e)}`),
  );

export function modbusTransportSuite(name: string, start: () => Promise<TransportUnderTest>): void {
  describe(`Modbus transport contract: ${name}`, () => {
    let t: TransportUnderTest;
    let bus: ModbusTransport;
    let ms: number;
    const fault = (f: FaultInput) => t.sim.device('faulty').setFault(f);
    /** After any fault, the bus answers the right request with the right values. */
    const inStep = async () => {
      expect(await bus.readRegisters(2, 'input', 1, 2, ms)).toEqual([305, 546]);
      expect(await bus.readRegisters(2, 'holding', 0x101, 1, ms)).toEqual([2]);
      expect(await bus.readBits(1, 'discrete', 0, 3, ms)).toEqual([true, false, true]);
    };

    beforeAll(async () => {
      t = await start();
      bus = t.transport;
      ms = t.timeoutMs;
      await bus.open();
    });
    afterAll(async () => {
      await t?.close();
    });

    it('reads coils, discrete inputs, input and holding registers (FC01-04)', async () => {
      expect(bus.isOpen).toBe(true);
      expect(await bus.readBits(1, 'coil', 0, 8, ms)).toEqual(Array(8).fill(false));
      await inStep();
    });

    it('writes FC05/FC15 coils and FC06/FC16 registers, read back', async () => {
      await bus.writeCoil(1, 2, true, ms);
      await bus.writeCoils(1, 4, [true, false, true], ms);
      expect(await bus.readBits(1, 'coil', 0, 8, ms)).toEqual([false, false, true, false, true, false, true, false]);
      await bus.writeRegister(2, 0x103, 10, ms); // +1.0 C correction
      expect(await bus.readRegisters(2, 'input', 1, 1, ms)).toEqual([315]);
      await bus.writeRegisters(2, 0x103, [0, 0xfff6], ms); // 0 C, -1.0 %
      expect(await bus.readRegisters(2, 'holding', 0x103, 2, ms)).toEqual([0, 0xfff6]);
      expect(await bus.readRegisters(2, 'input', 1, 2, ms)).toEqual([305, 536]);
      await bus.writeRegisters(2, 0x103, [0, 0], ms);
      await bus.writeCoils(1, 0, Array(8).fill(false), ms);
    });

    it('an exception reply carries its code; an unmapped address is exception 02', async () => {
      fault({ mode: 'exception', code: 4 });
      const err = await bus.readRegisters(5, 'input', 1, 2, ms).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'EDGE_MODBUS_EXCEPTION', exceptionCode: 4 });
      fault({ mode: 'none' });
      expect(await bus.readRegisters(2, 'holding', 0x200, 1, ms).catch((e: unknown) => e)).toMatchObject({ code: 'EDGE_MODBUS_EXCEPTION', exceptionCode: 2 });
      await inStep();
    });

    const cases: Array<[FaultInput, string[]]> = [
      [{ mode: 'no-reply' }, ['EDGE_MODBUS_TIMEOUT']],
      [{ mode: 'crc-error' }, ['EDGE_MODBUS_CRC', 'EDGE_MODBUS_FRAME', 'EDGE_MODBUS_TIMEOUT']],
      [{ mode: 'garbage' }, ['EDGE_MODBUS_FRAME', 'EDGE_MODBUS_CRC', 'EDGE_MODBUS_TIMEOUT']],
      [{ mode: 'truncated' }, ['EDGE_MODBUS_FRAME', 'EDGE_MODBUS_TIMEOUT']],
      [{ mode: 'wrong-unit' }, ['EDGE_MODBUS_FRAME', 'EDGE_MODBUS_TIMEOUT']],
    ];
    for (const [f, codes] of cases) {
      it(`${f.mode}: fails with ${codes.join(' or ')}, never a value, and the bus stays in step`, async () => {
        fault(f);
        for (let i = 0; i < 3; i++) expect(codes).toContain(await codeOf(bus.readRegisters(5, 'input', 1, 2, ms)));
        // the device may have applied the write; only its answer is at fault
        expect(codes).toContain(await codeOf(bus.writeRegister(5, 0x104, 0, ms)));
        fault({ mode: 'none' });
        await inStep();
        expect(await bus.readRegisters(5, 'input', 1, 2, ms)).toEqual([200, 500]);
      });
    }

    it('a reply later than the timeout never answers the next request', async () => {
      fault({ mode: 'slow', delayMs: Math.round(ms * 1.5) });
      expect(await codeOf(bus.readRegisters(5, 'holding', 0x101, 1, ms))).toBe('EDGE_MODBUS_TIMEOUT');
      fault({ mode: 'none' });
      // sent while the late reply is still on its way: must get its own answer
      expect(await bus.readRegisters(2, 'holding', 0x101, 1, ms)).toEqual([2]);
      await inStep();
    });

    it('close() fails calls with EDGE_MODBUS_PORT; open() again works', async () => {
      await bus.close();
      expect(bus.isOpen).toBe(false);
      expect(await codeOf(bus.readRegisters(2, 'input', 1, 2, ms))).toBe('EDGE_MODBUS_PORT');
      await bus.open();
      await inStep();
    });
  });
}
