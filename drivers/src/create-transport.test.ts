import { LineConfig } from '@cityedge/contract';
import { describe, expect, it } from 'vitest';
import { createTransport, endpointOf } from './create-transport.js';
import { ModbusError } from './modbus-transport.js';

describe('createTransport', () => {
  it('picks the transport and describes where it talks', () => {
    const rtu = createTransport(LineConfig.parse({ id: 'a', type: 'rtu', path: '/dev/ttyUSB0' }));
    expect([rtu.kind, rtu.description, rtu.isOpen]).toEqual(['rtu', '/dev/ttyUSB0 9600 8N1', false]);
    const rtu2 = createTransport(LineConfig.parse({ id: 'a', type: 'rtu', path: '/dev/ttyS1', baudRate: 19200, parity: 'even', dataBits: 7, stopBits: 2 }));
    expect(rtu2.description).toBe('/dev/ttyS1 19200 7E2');
    expect(createTransport(LineConfig.parse({ id: 'a', type: 'rtu', path: '/dev/ttyAMA0', baudRate: 2400, parity: 'odd' })).description).toBe('/dev/ttyAMA0 2400 8O1');
    const tcp = createTransport(LineConfig.parse({ id: 'b', type: 'tcp', host: '10.0.0.5' }));
    expect([tcp.kind, tcp.description]).toEqual(['tcp', '10.0.0.5:502']);
    expect(createTransport(LineConfig.parse({ id: 'b', type: 'tcp', host: '::1', port: 1502 })).description).toBe('[::1]:1502');
    const rot = createTransport(LineConfig.parse({ id: 'c', type: 'rtu-over-tcp', host: '127.0.0.1', port: 5020 }));
    expect([rot.kind, rot.description]).toEqual(['rtu-over-tcp', '127.0.0.1:5020 (rtu-over-tcp)']);
    expect(endpointOf(LineConfig.parse({ id: 'c', type: 'rtu-over-tcp', host: 'gw' }))).toEqual({ kind: 'rtu-over-tcp', host: 'gw', port: 4001 });
  });

  it('a serial port that does not exist fails open() with EDGE_MODBUS_PORT; calls fail the same way', async () => {
    const t = createTransport(LineConfig.parse({ id: 'a', type: 'rtu', path: '/dev/cityedge-no-such-port' }));
    const err = await t.open().then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(ModbusError);
    expect((err as ModbusError).code).toBe('EDGE_MODBUS_PORT');
    expect((err as Error).message).toContain('/dev/cityedge-no-such-port 9600 8N1');
    expect(t.isOpen).toBe(false);
    const call = await t.readRegisters(1, 'holding', 0, 1, 100).then(() => undefined, (e: unknown) => e);
    expect((call as ModbusError).code).toBe('EDGE_MODBUS_PORT');
    await t.close();
  });
});
