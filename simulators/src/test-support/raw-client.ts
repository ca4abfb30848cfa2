import net from 'node:net';

/**
 * A raw TCP client for tests: writes bytes, collects what comes back. Deliberately independent
 * of the drivers package so simulator tests check the wire, not a shared codec.
 */
export class RawClient {
  private buf = Buffer.alloc(0);
  private closed = false;
  private waiters: Array<() => void> = [];

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buf = Buffer.concat([this.buf, chunk]);
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  static connect(port: number, host = '127.0.0.1'): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host }, () => resolve(new RawClient(socket)));
      socket.setNoDelay(true);
      socket.once('error', reject);
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  write(bytes: Buffer | number[]): Promise<void> {
    return new Promise((resolve) => this.socket.write(Buffer.from(bytes), () => resolve()));
  }

  /** Takes exactly n bytes, waiting up to timeoutMs; rejects if they do not come. */
  async take(n: number, timeoutMs = 2000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    while (this.buf.length < n) {
      if (this.closed) throw new Error(`connection closed with ${this.buf.length}/${n} bytes`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out with ${this.buf.length}/${n} bytes: ${this.buf.toString('hex')}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return Buffer.from(out);
  }

  /** Everything received within ms (use only to show that nothing more arrives). */
  async drain(ms: number): Promise<Buffer> {
    await new Promise((r) => setTimeout(r, ms));
    const out = this.buf;
    this.buf = Buffer.alloc(0);
    return out;
  }

  /** Resolves when the server closes the connection (rejects after timeoutMs). */
  async waitClosed(timeoutMs = 2000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error('connection still open');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 50);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

/** A hand-driven clock for tests: behaviour advances only when the test says so. */
export class ManualClock {
  constructor(public t = Date.parse('2024-06-01T00:00:00Z')) {}
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

export function readPdu(fc: number, address: number, count: number): Buffer {
  const b = Buffer.alloc(5);
  b[0] = fc;
  b.writeUInt16BE(address, 1);
  b.writeUInt16BE(count, 3);
  return b;
}

export function writeSinglePdu(address: number, value: number): Buffer {
  return readPdu(6, address, value);
}

export function writeMultiplePdu(address: number, values: number[]): Buffer {
  const b = Buffer.alloc(6 + 2 * values.length);
  b[0] = 16;
  b.writeUInt16BE(address, 1);
  b.writeUInt16BE(values.length, 3);
  b[5] = 2 * values.length;
  values.forEach((v, i) => b.writeUInt16BE(v, 6 + 2 * i));
  return b;
}

export function mbap(transactionId: number, unitId: number, pdu: Buffer): Buffer {
  const h = Buffer.alloc(7);
  h.writeUInt16BE(transactionId, 0);
  h.writeUInt16BE(0, 2);
  h.writeUInt16BE(pdu.length + 1, 4);
  h[6] = unitId;
  return Buffer.concat([h, pdu]);
}

/** Independent float32 decoding for tests: registers in the given word order back to a number. */
export function decodeFloat(regs: [number, number], order: 'ABCD' | 'CDAB' | 'BADC' | 'DCBA'): number {
  const raw = Buffer.alloc(4);
  raw.writeUInt16BE(regs[0], 0);
  raw.writeUInt16BE(regs[1], 2);
  const [p, q, r, s] = [raw[0] ?? 0, raw[1] ?? 0, raw[2] ?? 0, raw[3] ?? 0];
  const abcd = { ABCD: [p, q, r, s], CDAB: [r, s, p, q], BADC: [q, p, s, r], DCBA: [s, r, q, p] }[order];
  return Buffer.from(abcd).readFloatBE(0);
}

export { withCrc as rtu } from '../modbus/crc16.js';

let nextTransaction = 1;

/** One Modbus TCP read (FC03/FC04) over a RawClient; throws on an exception reply. */
export async function tcpRead(c: RawClient, unitId: number, fc: 3 | 4, address: number, count: number): Promise<number[]> {
  const tid = nextTransaction++ & 0xffff;
  await c.write(mbap(tid, unitId, readPdu(fc, address, count)));
  const head = await c.take(7);
  const body = await c.take(head.readUInt16BE(4) - 1);
  if (head.readUInt16BE(0) !== tid) throw new Error(`transaction ${head.readUInt16BE(0)} != ${tid}`);
  if ((body[0] ?? 0) & 0x80) throw new Error(`exception ${body[1]}`);
  return [...Array(count).keys()].map((i) => body.readUInt16BE(2 + 2 * i));
}

/** One Modbus TCP write (FC06); resolves to the reply PDU as hex. */
export async function tcpWrite(c: RawClient, unitId: number, address: number, value: number): Promise<string> {
  const tid = nextTransaction++ & 0xffff;
  await c.write(mbap(tid, unitId, writeSinglePdu(address, value)));
  const head = await c.take(7);
  return (await c.take(head.readUInt16BE(4) - 1)).toString('hex');
}
