import { EventEmitter } from 'node:events';
import ModbusRTU from 'modbus-serial';
import { MbapGuard } from './mbap-guard.js';
import { LIMITS, checkBoolValues, checkCommon, checkRegisterValues, ModbusArgumentError } from './modbus-args.js';
import { describeRequest, mapLibraryError, type RequestInfo } from './modbus-serial-errors.js';
import { ModbusError, type BitTable, type ModbusTransport, type WordTable } from './modbus-transport.js';

/** Where a transport talks. */
export type ModbusEndpoint =
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'rtu-over-tcp'; host: string; port: number }
  | { kind: 'rtu'; path: string; baudRate: number; parity: 'none' | 'even' | 'odd'; dataBits: 7 | 8; stopBits: 1 | 2 };

/** The part of a pino logger a transport uses. */
export interface TransportLogger {
  debug(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface ModbusSerialTransportOptions {
  endpoint: ModbusEndpoint;
  /** Longest wait for the connection or the serial port to open. Default 5000 ms. */
  connectTimeoutMs?: number;
  /**
   * RTU only: after a call that timed out or got a garbled reply, how long to wait before the
   * next request so a late reply lands (and is dropped) before it instead of answering it.
   * Default: the failed call's timeout, at most 500 ms.
   */
  drainAfterTimeoutMs?: number;
  logger?: TransportLogger;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 5000;
/** Our own timer backs up the library's per-call timeout, in case it never calls back. */
const GUARD_MARGIN_MS = 1000;
const MAX_DEFAULT_DRAIN_MS = 500;

type Callback<R> = (err: unknown, res: R) => void;

/**
 * Fields of modbus-serial 8 ports that are not in its typings. `_client` is the net.Socket
 * (TcpPort, TelnetPort) or SerialPort (RTUBufferedPort); `_buffer` (TelnetPort, RTUBufferedPort)
 * and `_clientRcvData` (TcpPort) hold received bytes not yet made into a frame.
 */
interface PortInternals {
  _client?: unknown;
  _buffer?: unknown;
  _clientRcvData?: unknown;
  /** Key of the next request's entry in the client's _transactions (TCP ports: its transaction id). */
  _transactionIdWrite?: number;
}

/**
 * modbus-serial keeps each request's entry (its callback, and through it the whole request) under
 * its transaction id, 256 of them per TCP client, until the id comes round again: at 10 requests a
 * second that is 25 s, so every request outlived the young generation and piled up in the old one
 * (75 KB/s of garbage at 500 points/s, the agent's RSS creeping up between full collections). The
 * entry goes as soon as the request is settled, if it is still this request's.
 */
function forgetTransaction(client: ModbusRTU, key: number | undefined, callback: unknown): void {
  const transactions = (client as unknown as { _transactions?: Record<string, { next?: unknown } | undefined> })._transactions;
  const k = String(key);
  if (transactions && transactions[k]?.next === callback) delete transactions[k];
}

function portOf(client: ModbusRTU): (PortInternals & Partial<EventEmitter>) | undefined {
  return (client as unknown as { _port?: PortInternals & Partial<EventEmitter> })._port;
}

function pendingBytes(port: PortInternals | undefined): Buffer | undefined {
  const bytes = port?._clientRcvData ?? port?._buffer;
  return Buffer.isBuffer(bytes) ? bytes : undefined;
}

/** Shared by every port: the ports only ever replace their buffer (Buffer.concat), never write into it. */
const NO_BYTES = Buffer.alloc(0);

/** Drops received bytes that are not part of a frame yet: nothing is outstanding, so they are stale. */
function discardPending(port: PortInternals | undefined): void {
  if (!port) return;
  if (Buffer.isBuffer(port._buffer) && port._buffer.length > 0) port._buffer = NO_BYTES;
  if (Buffer.isBuffer(port._clientRcvData) && port._clientRcvData.length > 0) port._clientRcvData = NO_BYTES;
}

export function describeEndpoint(endpoint: ModbusEndpoint): string {
  if (endpoint.kind === 'rtu') {
    const parity = endpoint.parity === 'none' ? 'N' : endpoint.parity === 'even' ? 'E' : 'O';
    return `${endpoint.path} ${endpoint.baudRate} ${endpoint.dataBits}${parity}${endpoint.stopBits}`;
  }
  const host = endpoint.host.includes(':') ? `[${endpoint.host}]` : endpoint.host;
  return `${host}:${endpoint.port}${endpoint.kind === 'rtu-over-tcp' ? ' (rtu-over-tcp)' : ''}`;
}

/**
 * A ModbusTransport on modbus-serial 8: Modbus TCP (connectTCP, MBAP framing), RTU frames over
 * TCP (connectTelnet) and RTU on a serial port (connectRTUBuffered). All three share this class;
 * only how the client connects differs.
 *
 * What it adds to the library (see the final report and tests for why):
 * - RTU over TCP uses connectTelnet, not connectTcpRTUBuffered: despite its name the latter sends
 *   Modbus TCP (MBAP) frames without CRC; TelnetPort sends raw RTU frames and checks the CRC.
 * - Before each request, received bytes not yet framed are dropped, so a late, partial or
 *   garbage reply to an earlier request cannot be taken for (or block) the next reply. On RTU
 *   (no transaction id) the request after a timeout also waits a while (drainAfterTimeoutMs),
 *   so a reply later than the timeout arrives, and is dropped, before that request is sent.
 * - The connection is watched at the socket/serial port itself: TcpPort does not relay "close"
 *   after a socket error, so a lost link would otherwise look like timeouts.
 * - 'error' listeners on the client and the port: RTUBufferedPort re-emits serial port errors,
 *   which would otherwise be thrown asynchronously.
 * - Replies are checked against the request (register count, echoed address and value).
 * - Calls run one at a time even if a caller overlaps them.
 */
export class ModbusSerialTransport implements ModbusTransport {
  readonly kind: ModbusEndpoint['kind'];
  readonly description: string;
  private readonly endpoint: ModbusEndpoint;
  private readonly connectTimeoutMs: number;
  private readonly drainAfterTimeoutMs: number | undefined;
  private readonly log: TransportLogger | undefined;
  /** Set after an RTU timeout: the next request waits for it (see drainAfterTimeoutMs). */
  private drain: Promise<void> | undefined;
  private client: ModbusRTU | undefined;
  private opening: Promise<void> | undefined;
  /** Bumped by close(): an open() that was under way when it ran must not install its client. */
  private generation = 0;
  private active: { fail(err: ModbusError): void } | undefined;
  /** Modbus TCP only: checks reply headers that TcpPort does not (see mbap-guard.ts). */
  private readonly mbap = new MbapGuard();
  private queue: Promise<unknown> = Promise.resolve();

  constructor(options: ModbusSerialTransportOptions) {
    this.endpoint = options.endpoint;
    this.kind = options.endpoint.kind;
    this.description = describeEndpoint(options.endpoint);
    this.connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    this.drainAfterTimeoutMs = options.drainAfterTimeoutMs;
    this.log = options.logger;
  }

  get isOpen(): boolean {
    return this.client !== undefined && this.client.isOpen === true;
  }

  open(): Promise<void> {
    if (this.isOpen) return Promise.resolve();
    this.opening ??= this.connect().finally(() => {
      this.opening = undefined;
    });
    return this.opening;
  }

  async close(): Promise<void> {
    this.generation++;
    const client = this.client;
    this.client = undefined;
    this.active?.fail(new ModbusError('EDGE_MODBUS_PORT', `${this.description} was closed`));
    if (client) await this.dispose(client);
  }

  async readBits(unitId: number, table: BitTable, address: number, count: number, timeoutMs: number): Promise<boolean[]> {
    checkCommon(unitId, address, count, LIMITS.readBits, timeoutMs);
    const fc = table === 'coil' ? 1 : 2;
    return this.transact<{ data?: unknown }, boolean[]>(
      { unitId, fc, address, count },
      timeoutMs,
      (c, cb) => (fc === 1 ? c.writeFC1(unitId, address, count, cb) : c.writeFC2(unitId, address, count, cb)),
      (res) => {
        const data = res?.data;
        if (!Array.isArray(data) || data.length < count) throw new Error(`expected ${count} bits, got ${Array.isArray(data) ? data.length : 'none'}`);
        return data.slice(0, count).map((b) => b === true);
      },
    );
  }

  async readRegisters(unitId: number, table: WordTable, address: number, count: number, timeoutMs: number): Promise<number[]> {
    checkCommon(unitId, address, count, LIMITS.readRegisters, timeoutMs);
    const fc = table === 'holding' ? 3 : 4;
    return this.transact<{ data?: unknown }, number[]>(
      { unitId, fc, address, count },
      timeoutMs,
      (c, cb) => (fc === 3 ? c.writeFC3(unitId, address, count, cb) : c.writeFC4(unitId, address, count, cb)),
      (res) => {
        const data = res?.data;
        if (!Array.isArray(data) || data.length !== count || !data.every((w) => typeof w === 'number')) {
          throw new Error(`expected ${count} registers, got ${Array.isArray(data) ? data.length : 'none'}`);
        }
        return data as number[];
      },
    );
  }

  async writeCoil(unitId: number, address: number, value: boolean, timeoutMs: number): Promise<void> {
    checkCommon(unitId, address, 1, 1, timeoutMs);
    checkBoolValues([value]);
    await this.transact<{ address?: unknown; state?: unknown }, void>(
      { unitId, fc: 5, address, count: 1 },
      timeoutMs,
      (c, cb) => c.writeFC5(unitId, address, value, cb),
      (res) => expectEcho(res?.address === address && res?.state === value, res),
    );
  }

  async writeCoils(unitId: number, address: number, values: boolean[], timeoutMs: number): Promise<void> {
    if (!Array.isArray(values)) throw new ModbusArgumentError('coil values must be an array');
    checkCommon(unitId, address, values.length, LIMITS.writeCoils, timeoutMs);
    checkBoolValues(values);
    await this.transact<{ address?: unknown; length?: unknown }, void>(
      { unitId, fc: 15, address, count: values.length },
      timeoutMs,
      (c, cb) => c.writeFC15(unitId, address, [...values], cb),
      (res) => expectEcho(res?.address === address && res?.length === values.length, res),
    );
  }

  async writeRegister(unitId: number, address: number, value: number, timeoutMs: number): Promise<void> {
    checkCommon(unitId, address, 1, 1, timeoutMs);
    checkRegisterValues([value]);
    await this.transact<{ address?: unknown; value?: unknown }, void>(
      { unitId, fc: 6, address, count: 1 },
      timeoutMs,
      (c, cb) => c.writeFC6(unitId, address, value, cb),
      (res) => expectEcho(res?.address === address && res?.value === value, res),
    );
  }

  async writeRegisters(unitId: number, address: number, values: number[], timeoutMs: number): Promise<void> {
    if (!Array.isArray(values)) throw new ModbusArgumentError('register values must be an array');
    checkCommon(unitId, address, values.length, LIMITS.writeRegisters, timeoutMs);
    checkRegisterValues(values);
    await this.transact<{ address?: unknown; length?: unknown }, void>(
      { unitId, fc: 16, address, count: values.length },
      timeoutMs,
      (c, cb) => c.writeFC16(unitId, address, [...values], cb),
      (res) => expectEcho(res?.address === address && res?.length === values.length, res),
    );
  }

  private async connect(): Promise<void> {
    const generation = this.generation;
    if (this.client) {
      const old = this.client;
      this.client = undefined;
      await this.dispose(old);
    }
    const client = new ModbusRTU();
    // ModbusRTU re-emits port errors as 'error'; without a listener they would be thrown.
    client.on('error', (err) => this.log?.warn({ transport: this.description, err }, 'modbus port error'));
    let connecting: Promise<void>;
    try {
      connecting = this.startConnect(client);
    } catch (err) {
      throw this.portError(`cannot open ${this.description}: ${errorMessage(err)}`, err);
    }
    const port = portOf(client);
    port?.on?.('error', (err: unknown) => this.log?.debug({ transport: this.description, err }, 'modbus port error'));
    const lost = (): void => this.handleLost(client);
    client.on('close', lost);
    if (port?._client instanceof EventEmitter) {
      port._client.on('close', lost);
      if (this.kind === 'tcp') {
        // ahead of TcpPort's own listener, so a bad header fails the call before it is decoded
        port._client.prependListener('data', (chunk: Buffer) => {
          const bad = this.mbap.feed(chunk);
          if (bad) this.active?.fail(new ModbusError('EDGE_MODBUS_FRAME', `${this.description}: ${bad}`));
        });
      }
    }

    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(this.portError(`cannot open ${this.description}: no connection within ${this.connectTimeoutMs} ms`)),
        this.connectTimeoutMs,
      );
    });
    try {
      await Promise.race([connecting, timeout]);
    } catch (err) {
      // A connect that completes after we gave up must not leave a socket or port open.
      connecting.then(() => this.dispose(client), () => undefined);
      void this.dispose(client);
      throw err instanceof ModbusError ? err : this.portError(`cannot open ${this.description}: ${errorMessage(err)}`, err);
    } finally {
      clearTimeout(timer);
    }
    if (generation !== this.generation || !client.isOpen) {
      void this.dispose(client);
      throw this.portError(`${this.description} was closed while opening`);
    }
    this.client = client;
    this.log?.debug({ transport: this.description }, 'modbus transport open');
  }

  private startConnect(client: ModbusRTU): Promise<void> {
    const e = this.endpoint;
    switch (e.kind) {
      case 'tcp':
        return client.connectTCP(e.host, { port: e.port });
      case 'rtu-over-tcp':
        return client.connectTelnet(e.host, { port: e.port });
      case 'rtu':
        return client.connectRTUBuffered(e.path, { baudRate: e.baudRate, parity: e.parity, dataBits: e.dataBits, stopBits: e.stopBits });
    }
  }

  private handleLost(client: ModbusRTU): void {
    if (this.client !== client) return;
    this.client = undefined;
    this.log?.warn({ transport: this.description }, 'modbus connection lost');
    this.active?.fail(new ModbusError('EDGE_MODBUS_PORT', `${this.description}: connection lost`));
    void this.dispose(client);
  }

  /** Closes a client, never rejecting. TCP sockets are destroyed; a serial port is closed. */
  private dispose(client: ModbusRTU): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 2000);
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      try {
        // ModbusRTU.destroy() only closes ports that have destroy() (TCP); RTUBufferedPort has not.
        if (this.kind === 'rtu') client.close(done);
        else client.destroy(done);
      } catch {
        done();
      }
    });
  }

  private transact<R, T>(req: RequestInfo, timeoutMs: number, send: (c: ModbusRTU, cb: Callback<R>) => void, accept: (res: R) => T): Promise<T> {
    const run = async (): Promise<T> => {
      const drain = this.drain;
      this.drain = undefined;
      if (drain) await drain;
      try {
        return await this.once(req, timeoutMs, send, accept);
      } catch (err) {
        this.afterFailure(err, timeoutMs);
        throw err;
      }
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  /**
   * RTU has no transaction id: a reply that comes after its request timed out would answer the
   * next request if it were already sent. Waiting a while lets it arrive first; it is then dropped.
   */
  private afterFailure(err: unknown, timeoutMs: number): void {
    if (this.kind === 'tcp' || !(err instanceof ModbusError)) return;
    if (err.code !== 'EDGE_MODBUS_TIMEOUT' && err.code !== 'EDGE_MODBUS_FRAME') return;
    const ms = this.drainAfterTimeoutMs ?? Math.min(timeoutMs, MAX_DEFAULT_DRAIN_MS);
    if (ms > 0) this.drain = new Promise((resolve) => setTimeout(resolve, ms));
  }

  private once<R, T>(req: RequestInfo, timeoutMs: number, send: (c: ModbusRTU, cb: Callback<R>) => void, accept: (res: R) => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const client = this.client;
      if (!client || client.isOpen !== true) {
        reject(new ModbusError('EDGE_MODBUS_PORT', `${this.description} is not open (${describeRequest(req)})`));
        return;
      }
      const port = portOf(client);
      discardPending(port);
      this.mbap.reset();
      const key = port?._transactionIdWrite;
      let done = false;
      const finish = (err: ModbusError | undefined, value?: T): void => {
        if (done) return;
        done = true;
        clearTimeout(guard);
        forgetTransaction(client, key, callback);
        if (this.active === active) this.active = undefined;
        if (err) reject(err);
        else resolve(value as T);
      };
      const active = { fail: (err: ModbusError) => finish(err) };
      this.active = active;
      const guard = setTimeout(
        () => finish(new ModbusError('EDGE_MODBUS_TIMEOUT', `no reply within ${timeoutMs} ms (${describeRequest(req)}, ${this.description})`)),
        timeoutMs + GUARD_MARGIN_MS,
      );
      const callback: Callback<R> = (err, res) => {
        if (done) return;
        if (err) {
          const closed = client.isOpen !== true;
          const mapped = closed
            ? new ModbusError('EDGE_MODBUS_PORT', `${this.description}: connection lost (${describeRequest(req)})`, { cause: err })
            : mapLibraryError(err, req, this.description, timeoutMs, pendingBytes(port));
          finish(mapped);
          return;
        }
        try {
          finish(undefined, accept(res));
        } catch (e) {
          finish(new ModbusError('EDGE_MODBUS_FRAME', `invalid reply: ${errorMessage(e)} (${describeRequest(req)}, ${this.description})`, { cause: e }));
        }
      };
      try {
        client.setTimeout(timeoutMs);
        send(client, callback);
      } catch (err) {
        finish(mapLibraryError(err, req, this.description, timeoutMs));
      }
    });
  }

  private portError(message: string, cause?: unknown): ModbusError {
    return new ModbusError('EDGE_MODBUS_PORT', message, cause === undefined ? {} : { cause });
  }
}

function expectEcho(ok: boolean, res: unknown): void {
  if (!ok) throw new Error(`reply does not echo the request: ${JSON.stringify(res)}`);
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
