import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { builtinProfiles, LineConfig } from '@cityedge/contract';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTransport } from './create-transport.js';
import { ModbusError, type ModbusTransport } from './modbus-transport.js';
import { decodePoints } from './point-codec.js';
import { planReads } from './read-plan.js';
import { crc16, hex, sleep, withCrc } from './test-support.js';

type Fault = 'crc' | 'wrong-unit' | 'wrong-function' | 'garbage' | 'silence' | 'truncated' | 'late' | 'exception' | 'noise-before' | 'reset' | 'slow';

/**
 * A Modbus RTU device behind a serial device server: raw RTU frames (with CRC) on a TCP socket,
 * written here from the specification so it shares no code with the client under test.
 */
class RtuDeviceServer {
  readonly requests: Buffer[] = [];
  readonly faults: Fault[] = [];
  readonly input = Array.from({ length: 100 }, (_, i) => 0x100 + i);
  readonly holding = Array.from({ length: 100 }, (_, i) => i);
  readonly coils = Array.from({ length: 100 }, () => false);
  badRequests = 0;
  private busy: Promise<void> = Promise.resolve();
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  constructor(readonly unit: number) {}

  async start(port = 0): Promise<number> {
    this.server = createServer((sock) => this.serve(sock));
    await new Promise<void>((resolve) => this.server?.listen(port, '127.0.0.1', resolve));
    return (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((resolve) => this.server?.close(resolve));
  }

  private serve(sock: Socket): void {
    this.sockets.add(sock);
    sock.on('close', () => this.sockets.delete(sock));
    sock.on('error', () => undefined);
    let buf = Buffer.alloc(0);
    sock.on('data', (data) => {
      buf = Buffer.concat([buf, data]);
      while (buf.length >= 8) {
        const fc = buf[1] ?? 0;
        const len = fc === 15 || fc === 16 ? 9 + (buf[6] ?? 0) : 8;
        if (buf.length < len) return;
        const frame = buf.subarray(0, len);
        buf = buf.subarray(len);
        if (crc16(frame.subarray(0, -2)) !== frame.readUInt16LE(len - 2)) {
          this.badRequests++;
          continue;
        }
        this.requests.push(Buffer.from(frame));
        this.reply(sock, frame);
      }
    });
  }

  /** Replies go out in order, like a device on a bus: a slow reply delays the ones after it. */
  private reply(sock: Socket, req: Buffer): void {
    const fault = this.faults.shift();
    const pdu = this.answer(req);
    if (!pdu) return;
    const good = withCrc([this.unit, ...pdu]);
    let out: Buffer | undefined = good;
    let delayMs = 0;
    switch (fault) {
      case 'crc':
        good.writeUInt8((good.at(-1) ?? 0) ^ 0xff, good.length - 1);
        break;
      case 'wrong-unit':
        out = withCrc([this.unit + 1, ...pdu]);
        break;
      case 'wrong-function':
        out = withCrc([this.unit, pdu[0] === 3 ? 4 : 3, ...pdu.slice(1)]);
        break;
      case 'garbage':
        out = Buffer.from([0x55, 0xaa, 0x00, 0xff, 0x13, 0x37, 0x80, 0x7f, 0x42, 0x24, 0x99, 0x66, 0x0d, 0x0a]);
        break;
      case 'silence':
        out = undefined;
        break;
      case 'truncated':
        out = good.subarray(0, 4);
        break;
      case 'late':
        delayMs = 300;
        break;
      case 'slow':
        delayMs = 450;
        break;
      case 'exception':
        out = withCrc([this.unit, (pdu[0] ?? 0) | 0x80, 0x02]);
        break;
      case 'noise-before':
        out = Buffer.concat([Buffer.from([0xff, 0x00, 0xfe]), good]);
        break;
      case 'reset':
        sock.resetAndDestroy();
        return;
      case undefined:
        break;
    }
    this.busy = this.busy.then(async () => {
      if (delayMs > 0) await sleep(delayMs);
      if (out && !sock.destroyed) sock.write(out);
    });
  }

  /** The reply PDU (function code onwards) a correct device sends, or undefined for another unit. */
  private answer(req: Buffer): number[] | undefined {
    if (req[0] !== this.unit) return undefined;
    const fc = req[1] ?? 0;
    const addr = req.readUInt16BE(2);
    const n = req.readUInt16BE(4);
    switch (fc) {
      case 1: {
        const bytes = new Array<number>(Math.ceil(n / 8)).fill(0);
        for (let i = 0; i < n; i++) if (this.coils[addr + i]) bytes[i >> 3] = (bytes[i >> 3] ?? 0) | (1 << (i & 7));
        return [fc, bytes.length, ...bytes];
      }
      case 3:
      case 4: {
        const table = fc === 3 ? this.holding : this.input;
        if (addr + n > table.length) return [fc | 0x80, 0x02];
        const words = table.slice(addr, addr + n);
        return [fc, n * 2, ...words.flatMap((w) => [w >> 8, w & 0xff])];
      }
      case 5:
        this.coils[addr] = n === 0xff00;
        return [...req.subarray(1, 6)];
      case 6:
        this.holding[addr] = n;
        return [...req.subarray(1, 6)];
      case 15:
        for (let i = 0; i < n; i++) this.coils[addr + i] = (((req[7 + (i >> 3)] ?? 0) >> (i & 7)) & 1) === 1;
        return [...req.subarray(1, 6)];
      case 16:
        for (let i = 0; i < n; i++) this.holding[addr + i] = req.readUInt16BE(7 + 2 * i);
        return [...req.subarray(1, 6)];
      default:
        return [fc | 0x80, 0x01];
    }
  }
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    (v) => `value ${JSON.stringify(v)}`,
    (e: unknown) => (e instanceof ModbusError ? e.code : `non-ModbusError ${String(e)}`),
  );
}

describe('RTU over TCP transport', () => {
  let device: RtuDeviceServer;
  let port: number;
  let transport: ModbusTransport;

  beforeEach(async () => {
    device = new RtuDeviceServer(1);
    port = await device.start();
    transport = createTransport(LineConfig.parse({ id: 'rs485', type: 'rtu-over-tcp', host: '127.0.0.1', port }));
    await transport.open();
  });

  afterEach(async () => {
    await transport.close();
    await device.stop();
  });

  it('sends the SHT20 request byte for byte and decodes its reply to 30.5 C and 54.6 %', async () => {
    expect(transport.kind).toBe('rtu-over-tcp');
    expect(transport.description).toBe(`127.0.0.1:${port} (rtu-over-tcp)`);
    device.input[1] = 0x0131;
    device.input[2] = 0x0222;
    const sht20 = builtinProfiles.find((p) => p.id === 'sht20');
    if (!sht20) throw new Error('no sht20 profile');
    const [block, ...rest] = planReads(sht20.points, { maxGapRegisters: 8 });
    if (!block || rest.length > 0 || block.table !== 'input') throw new Error('expected one input block');
    const data = await transport.readRegisters(1, block.table, block.address, block.count, 500);
    expect(hex(device.requests[0] ?? Buffer.alloc(0))).toBe('01 04 00 01 00 02 20 0b');
    expect(hex(withCrc([1, 4, 4, 0x01, 0x31, 0x02, 0x22]))).toBe('01 04 04 01 31 02 22 2a ce');
    expect(data).toEqual([0x0131, 0x0222]);
    expect(Object.fromEntries(decodePoints(sht20.points, [{ block, data }]))).toEqual({ temperature: 30.5, humidity: 54.6 });
  });

  it('writes with FC05/06/15/16 and reads back', async () => {
    await transport.writeRegister(1, 15, 55, 500);
    await transport.writeRegisters(1, 20, [0x3fc0, 0x0000], 500);
    await transport.writeCoil(1, 3, true, 500);
    await transport.writeCoils(1, 8, [true, true, false, true, false, false, false, false, true], 500);
    expect(await transport.readRegisters(1, 'holding', 15, 7, 500)).toEqual([55, 16, 17, 18, 19, 0x3fc0, 0]);
    expect(await transport.readBits(1, 'coil', 0, 17, 500)).toEqual([
      false, false, false, true, false, false, false, false,
      true, true, false, true, false, false, false, false, true,
    ]);
    expect(device.badRequests).toBe(0);
  });

  const faults: [Fault, string][] = [
    ['crc', 'EDGE_MODBUS_CRC'],
    ['wrong-unit', 'EDGE_MODBUS_FRAME'],
    ['wrong-function', 'EDGE_MODBUS_FRAME'],
    ['garbage', 'EDGE_MODBUS_FRAME'],
    ['truncated', 'EDGE_MODBUS_FRAME'],
    ['silence', 'EDGE_MODBUS_TIMEOUT'],
    ['late', 'EDGE_MODBUS_TIMEOUT'],
    ['exception', 'EDGE_MODBUS_EXCEPTION'],
  ];
  for (const [fault, code] of faults) {
    it(`${fault} reply -> ${code}, and the next transactions are not desynchronised`, async () => {
      device.faults.push(fault);
      expect(await codeOf(transport.readRegisters(1, 'holding', 10, 3, 150))).toBe(code);
      if (fault === 'late') await sleep(300); // the late reply lands between transactions
      expect(await transport.readRegisters(1, 'holding', 40, 3, 500)).toEqual([40, 41, 42]);
      expect(await transport.readRegisters(1, 'holding', 10, 3, 500)).toEqual([10, 11, 12]);
      await transport.writeRegister(1, 50, 7, 500);
      expect(await transport.readRegisters(1, 'holding', 50, 1, 500)).toEqual([7]);
    });
  }

  it('an exception carries its code', async () => {
    const err = await transport.readRegisters(1, 'holding', 99, 2, 500).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModbusError);
    expect((err as ModbusError).exceptionCode).toBe(2);
  });

  it('a late reply to a write does not answer the next write', async () => {
    device.faults.push('late');
    expect(await codeOf(transport.writeRegister(1, 60, 1, 150))).toBe('EDGE_MODBUS_TIMEOUT');
    await sleep(300);
    await transport.writeRegister(1, 61, 2, 500);
    expect(await transport.readRegisters(1, 'holding', 60, 2, 500)).toEqual([1, 2]);
  });

  it('a reply later than the timeout does not answer the request sent right after', async () => {
    device.faults.push('slow'); // answers 450 ms after the request, the call times out at 300 ms
    expect(await codeOf(transport.readRegisters(1, 'holding', 10, 3, 300))).toBe('EDGE_MODBUS_TIMEOUT');
    expect(await transport.readRegisters(1, 'holding', 40, 3, 500)).toEqual([40, 41, 42]);
    expect(await transport.readRegisters(1, 'holding', 20, 3, 500)).toEqual([20, 21, 22]);
  });

  it('skips noise before a valid reply', async () => {
    device.faults.push('noise-before');
    expect(await transport.readRegisters(1, 'holding', 1, 2, 500)).toEqual([1, 2]);
  });

  it('a device server that resets the connection -> EDGE_MODBUS_PORT; open() reconnects', async () => {
    device.faults.push('reset');
    expect(await codeOf(transport.readRegisters(1, 'holding', 0, 1, 60_000))).toBe('EDGE_MODBUS_PORT');
    expect(transport.isOpen).toBe(false);
    expect(await codeOf(transport.readRegisters(1, 'holding', 0, 1, 500))).toBe('EDGE_MODBUS_PORT');
    await transport.open();
    expect(await transport.readRegisters(1, 'holding', 5, 1, 500)).toEqual([5]);
  });

  it('a device server that goes away -> EDGE_MODBUS_PORT; open() fails until it is back', async () => {
    await device.stop();
    expect(await codeOf(transport.readRegisters(1, 'holding', 0, 1, 500))).toBe('EDGE_MODBUS_PORT');
    expect(await codeOf(transport.open())).toBe('EDGE_MODBUS_PORT');
    device = new RtuDeviceServer(1);
    await device.start(port);
    await transport.open();
    expect(await transport.readRegisters(1, 'holding', 9, 1, 500)).toEqual([9]);
  });
});
