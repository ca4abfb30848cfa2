import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { ServerTCP } from 'modbus-serial';
import { LineConfig } from '@cityedge/contract';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createTransport } from './create-transport.js';
import { ModbusArgumentError } from './modbus-args.js';
import { ModbusError, type ModbusTransport } from './modbus-transport.js';
import { freePort } from '@cityedge/test-support';
import { sleep } from './test-support.js';

const SILENT_UNIT = 9;
const tcpLine = (port: number) => LineConfig.parse({ id: 'l1', type: 'tcp', host: '127.0.0.1', port });
const never = new Promise<never>(() => undefined);

/** In-memory tables behind modbus-serial's own ServerTCP (an implementation independent of our client). */
function makeVector() {
  const holding = Array.from({ length: 1000 }, (_, i) => i);
  const input = Array.from({ length: 1000 }, (_, i) => 0x1000 + i);
  const coils = Array.from({ length: 1000 }, () => false);
  const discrete = Array.from({ length: 1000 }, (_, i) => i % 3 === 0);
  const guard = (addr: number, unitID: number) => {
    if (unitID === SILENT_UNIT) return never;
    if (addr >= 900) throw Object.assign(new Error('illegal address'), { modbusErrorCode: 0x02 });
    return undefined;
  };
  const vector = {
    getCoil: (addr: number, unitID: number) => guard(addr, unitID) ?? coils[addr] ?? false,
    getDiscreteInput: (addr: number, unitID: number) => guard(addr, unitID) ?? discrete[addr] ?? false,
    getInputRegister: (addr: number, unitID: number) => guard(addr, unitID) ?? input[addr] ?? 0,
    getHoldingRegister: (addr: number, unitID: number) => guard(addr, unitID) ?? holding[addr] ?? 0,
    setCoil: (addr: number, value: boolean, unitID: number) => {
      guard(addr, unitID);
      coils[addr] = value;
    },
    setRegister: (addr: number, value: number, unitID: number) => {
      guard(addr, unitID);
      holding[addr] = value;
    },
  };
  return { vector, holding, coils };
}

async function startServer(port: number, vector: object): Promise<ServerTCP> {
  const server = new ServerTCP(vector as never, { host: '127.0.0.1', port });
  server.on('socketError', () => undefined);
  await new Promise<void>((resolve, reject) => {
    server.on('initialized', () => resolve());
    server.on('serverError', reject);
  });
  return server;
}

const stop = (server: ServerTCP) => new Promise<void>((resolve) => server.close(() => resolve()));

async function expectModbusError(promise: Promise<unknown>, code: ModbusError['code']): Promise<ModbusError> {
  const err = await promise.then(
    (v) => {
      throw new Error(`expected ${code}, got value ${JSON.stringify(v)}`);
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ModbusError);
  expect((err as ModbusError).code, (err as Error).message).toBe(code);
  return err as ModbusError;
}

describe('Modbus TCP transport against ServerTCP', () => {
  let port: number;
  let server: ServerTCP;
  let tables: ReturnType<typeof makeVector>;
  let transport: ModbusTransport;

  beforeEach(async () => {
    port = await freePort();
    tables = makeVector();
    server = await startServer(port, tables.vector);
    transport = createTransport(tcpLine(port));
    await transport.open();
  });

  afterEach(async () => {
    await transport.close();
    await stop(server);
  });

  it('describes itself and reads FC01/02/03/04', async () => {
    expect(transport.kind).toBe('tcp');
    expect(transport.description).toBe(`127.0.0.1:${port}`);
    expect(transport.isOpen).toBe(true);
    expect(await transport.readRegisters(1, 'holding', 100, 3, 500)).toEqual([100, 101, 102]);
    expect(await transport.readRegisters(1, 'input', 5, 2, 500)).toEqual([0x1005, 0x1006]);
    expect(await transport.readBits(1, 'discrete', 0, 7, 500)).toEqual([true, false, false, true, false, false, true]);
    expect(await transport.readBits(1, 'coil', 0, 3, 500)).toEqual([false, false, false]);
    expect(await transport.readRegisters(1, 'holding', 0, 125, 500)).toHaveLength(125);
  });

  it('writes with FC05/06/15/16 and reads the values back', async () => {
    await transport.writeCoil(1, 10, true, 500);
    expect(await transport.readBits(1, 'coil', 9, 3, 500)).toEqual([false, true, false]);
    await transport.writeCoils(1, 20, [true, false, true, true, false, false, false, false, true], 500);
    expect(await transport.readBits(1, 'coil', 20, 9, 500)).toEqual([true, false, true, true, false, false, false, false, true]);
    await transport.writeRegister(1, 15, 55, 500);
    expect(await transport.readRegisters(1, 'holding', 15, 1, 500)).toEqual([55]);
    await transport.writeRegisters(1, 106, [0x3fc0, 0x0000, 0xffff], 500);
    expect(await transport.readRegisters(1, 'holding', 106, 3, 500)).toEqual([0x3fc0, 0x0000, 0xffff]);
    expect(tables.holding[15]).toBe(55);
  });

  it('maps an exception reply to EDGE_MODBUS_EXCEPTION with its code', async () => {
    const err = await expectModbusError(transport.readRegisters(1, 'holding', 950, 2, 500), 'EDGE_MODBUS_EXCEPTION');
    expect(err.exceptionCode).toBe(2);
    expect(err.message).toMatch(/illegal data address/);
    await expectModbusError(transport.writeRegister(1, 901, 1, 500), 'EDGE_MODBUS_EXCEPTION');
    expect(await transport.readRegisters(1, 'holding', 1, 1, 500)).toEqual([1]);
  });

  it('times out on a unit that never answers, and the next call still works', async () => {
    const err = await expectModbusError(transport.readRegisters(SILENT_UNIT, 'holding', 0, 2, 150), 'EDGE_MODBUS_TIMEOUT');
    expect(err.message).toMatch(/no reply within 150 ms.*unit 9 FC03/);
    expect(transport.isOpen).toBe(true);
    expect(await transport.readRegisters(1, 'holding', 7, 1, 500)).toEqual([7]);
  });

  it('keeps nothing of a settled request in modbus-serial (it held 256 per client: each request for 25 s at 10/s)', async () => {
    // White-box on purpose: the library's table is where every request's closures were kept.
    const table = () => Object.keys((transport as unknown as { client: { _transactions: object } }).client._transactions);
    for (let i = 0; i < 300; i++) expect(await transport.readRegisters(1, 'holding', i % 100, 2, 500)).toHaveLength(2);
    await expectModbusError(transport.readRegisters(1, 'holding', 950, 2, 500), 'EDGE_MODBUS_EXCEPTION');
    await expectModbusError(transport.readRegisters(SILENT_UNIT, 'holding', 0, 2, 100), 'EDGE_MODBUS_TIMEOUT');
    expect(table()).toEqual([]);
  });

  it('runs overlapping calls one at a time with per-call unit ids', async () => {
    const results = await Promise.all([
      transport.readRegisters(1, 'holding', 1, 1, 500),
      transport.readRegisters(2, 'input', 2, 1, 500),
      transport.readRegisters(SILENT_UNIT, 'holding', 0, 1, 100).catch((e: ModbusError) => e.code),
      transport.readRegisters(3, 'holding', 3, 1, 500),
    ]);
    expect(results).toEqual([[1], [0x1002], 'EDGE_MODBUS_TIMEOUT', [3]]);
  });

  it('rejects a call in flight and later calls with EDGE_MODBUS_PORT when the server goes, and reopens', async () => {
    const inFlight = transport.readRegisters(SILENT_UNIT, 'holding', 0, 1, 60_000); // longer than the test may take
    await sleep(50);
    await stop(server);
    await expectModbusError(inFlight, 'EDGE_MODBUS_PORT');
    await vi.waitFor(() => expect(transport.isOpen).toBe(false));
    await expectModbusError(transport.readRegisters(1, 'holding', 0, 1, 500), 'EDGE_MODBUS_PORT');

    await expectModbusError(transport.open(), 'EDGE_MODBUS_PORT'); // nothing listening
    server = await startServer(port, tables.vector);
    await transport.open();
    expect(transport.isOpen).toBe(true);
    expect(await transport.readRegisters(1, 'holding', 42, 1, 500)).toEqual([42]);
  });

  it('close() makes calls fail with EDGE_MODBUS_PORT; open() again reconnects', async () => {
    await transport.close();
    expect(transport.isOpen).toBe(false);
    await expectModbusError(transport.readBits(1, 'coil', 0, 1, 500), 'EDGE_MODBUS_PORT');
    await transport.close(); // idempotent
    await transport.open();
    await transport.open(); // no-op when open
    expect(await transport.readRegisters(1, 'holding', 3, 1, 500)).toEqual([3]);
  });

  it('validates arguments with clear errors', async () => {
    const bad: [Promise<unknown>, RegExp][] = [
      [transport.readRegisters(1, 'holding', 0, 0, 500), /count must be an integer 1\.\.125, got 0/],
      [transport.readRegisters(1, 'holding', 0, 126, 500), /count must be an integer 1\.\.125/],
      [transport.readBits(1, 'coil', 0, 2001, 500), /count must be an integer 1\.\.2000/],
      [transport.readRegisters(256, 'holding', 0, 1, 500), /unit id must be an integer 0\.\.255/],
      [transport.readRegisters(1, 'holding', 65535, 2, 500), /past address 65535/],
      [transport.readRegisters(1, 'holding', -1, 1, 500), /address must be/],
      [transport.writeRegister(1, 0, 65536, 500), /register value \[0\] must be an integer 0\.\.65535/],
      [transport.writeRegisters(1, 0, new Array<number>(124).fill(0), 500), /1\.\.123/],
      [transport.writeCoils(1, 0, [], 500), /count must be an integer 1\.\.1968/],
      [transport.readRegisters(1, 'holding', 0, 1, 0), /timeout must be a positive/],
    ];
    for (const [promise, message] of bad) {
      const err = await promise.then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(ModbusArgumentError);
      expect((err as Error).message).toMatch(message);
    }
  });
});

/** A raw Modbus TCP server whose replies the test writes byte by byte. */
async function rawServer(onRequest: (req: Buffer, sock: Socket) => void): Promise<{ server: Server; port: number }> {
  const server = createServer((sock) => {
    sock.on('error', () => undefined);
    sock.on('data', (data) => onRequest(data, sock));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

function mbapReply(req: Buffer, pdu: number[]): Buffer {
  const out = Buffer.alloc(6 + pdu.length);
  req.copy(out, 0, 0, 2); // transaction id
  out.writeUInt16BE(0, 2);
  out.writeUInt16BE(pdu.length, 4);
  Buffer.from(pdu).copy(out, 6);
  return out;
}

describe('Modbus TCP transport with a misbehaving server', () => {
  it('recovers from garbage with a huge MBAP length, a late reply and a wrong unit id', async () => {
    let n = 0;
    const { server, port } = await rawServer((req, sock) => {
      n++;
      const unit = req[6] ?? 0;
      const ok = mbapReply(req, [unit, 0x03, 0x02, 0x00, n]);
      if (n === 1) sock.write(Buffer.from([0x00, 0x01, 0x00, 0x00, 0xff, 0xff, 0x01, 0x03])); // stuck framer
      else if (n === 3) setTimeout(() => sock.write(ok), 200); // after the 100 ms timeout
      else if (n === 5) sock.write(mbapReply(req, [unit + 1, 0x03, 0x02, 0x00, n]));
      else sock.write(ok);
    });
    const transport = createTransport(tcpLine(port));
    try {
      await transport.open();
      await expectModbusError(transport.readRegisters(1, 'holding', 0, 1, 100), 'EDGE_MODBUS_FRAME');
      expect(await transport.readRegisters(1, 'holding', 0, 1, 500)).toEqual([2]);
      await expectModbusError(transport.readRegisters(1, 'holding', 0, 1, 100), 'EDGE_MODBUS_TIMEOUT');
      await sleep(250); // the late reply to request 3 arrives now and must be ignored
      expect(await transport.readRegisters(1, 'holding', 0, 1, 500)).toEqual([4]);
      await expectModbusError(transport.readRegisters(1, 'holding', 0, 1, 500), 'EDGE_MODBUS_FRAME');
      expect(await transport.readRegisters(1, 'holding', 0, 1, 500)).toEqual([6]);
    } finally {
      await transport.close();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('rejects a reply with too few registers as EDGE_MODBUS_FRAME', async () => {
    const { server, port } = await rawServer((req, sock) => {
      // asked for 2 registers, answers with a byte count of 2 padded to the right frame length
      sock.write(mbapReply(req, [req[6] ?? 0, 0x03, 0x02, 0x00, 0x01, 0x00, 0x02]));
    });
    const transport = createTransport(tcpLine(port));
    try {
      await transport.open();
      await expectModbusError(transport.readRegisters(1, 'holding', 0, 2, 500), 'EDGE_MODBUS_FRAME');
    } finally {
      await transport.close();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('fails a call in flight with EDGE_MODBUS_PORT when the connection is reset', async () => {
    // TcpPort does not relay "close" after a socket error; the transport must still notice.
    const { server, port } = await rawServer((_req, sock) => {
      setTimeout(() => sock.resetAndDestroy(), 20);
    });
    const transport = createTransport(tcpLine(port));
    try {
      await transport.open();
      await expectModbusError(transport.readRegisters(1, 'holding', 0, 1, 60_000), 'EDGE_MODBUS_PORT');
      expect(transport.isOpen).toBe(false);
    } finally {
      await transport.close();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('fails open() with EDGE_MODBUS_PORT when nothing listens', async () => {
    const port = await freePort();
    const transport = createTransport(tcpLine(port));
    const err = await expectModbusError(transport.open(), 'EDGE_MODBUS_PORT');
    expect(err.message).toContain(`127.0.0.1:${port}`);
    expect(transport.isOpen).toBe(false);
    await expectModbusError(transport.readRegisters(1, 'holding', 0, 1, 100), 'EDGE_MODBUS_PORT');
  });
});
