import { existsSync } from 'node:fs';
import net from 'node:net';
import type { Firmata, FirmataTransport } from 'firmata-io';
import type { Board } from 'johnny-five';
import { SerialPort } from 'serialport';
import type { TransportLogger } from '../modbus-serial-transport.js';
import { FirmataError, type BoardInfo, type BoardTransport, type PinRef, type PinSetup, type PulseCount, type Sample } from './board-transport.js';
import { closedError, handshakeTimeout, lostError, pinError, portError, queryTimeout } from './firmata-errors.js';
import { resolvePin, type ResolvedPin } from './pin-ref.js';

/** Where a board is. */
export type FirmataEndpoint = { kind: 'serial'; path: string; baudRate: number } | { kind: 'tcp'; host: string; port: number };

export interface FirmataBoardTransportOptions {
  endpoint: FirmataEndpoint;
  /** Longest wait from opening the port to the end of the capability query. Default 10000 ms. */
  handshakeTimeoutMs?: number;
  /**
   * The version is asked for shortly after the port opens (a board already running says nothing
   * by itself; one that resets on open announces it when it has booted, and a bootloader that
   * gets the byte just starts the firmware sooner), then again every this many ms until it comes
   * (a request sent while the board was still booting is lost). Default 2000 ms.
   */
  versionQueryIntervalMs?: number;
  /** How often the board samples and reports analog inputs (Firmata sampling interval). Default 100 ms. */
  samplingIntervalMs?: number;
  logger?: TransportLogger;
  /** Host clock for sample times. Default Date.now. */
  now?: () => number;
}

const FIRMATA = { INPUT: 0, OUTPUT: 1, ANALOG: 2, PULLUP: 11 } as const;
/** firmata-io's own first version request, after the port opened. */
const FIRST_VERSION_QUERY_MS = 100;

/** johnny-five and firmata-io load on the first connection: a gateway without boards never pays for them. */
async function loadLibraries(): Promise<{ Firmata: typeof Firmata; Board: typeof Board }> {
  const [io, five] = await Promise.all([import('firmata-io'), import('johnny-five')]);
  return { Firmata: io.default.Firmata, Board: five.default.Board };
}
const PIN_MODE = 0xf4;
const PIN_STATE_QUERY = 0x6d;

interface PinConfig {
  resolved: ResolvedPin;
  setup: PinSetup;
  sample: Sample | undefined;
  pulses: PulseCount;
}

interface Session {
  io: Firmata;
  board: Board;
  /** johnny-five's registry of every Board (Board.cache), to take ours out of. */
  boards: Board[];
  stream: FirmataTransport & { destroy?: () => void };
  pins: Map<number, PinConfig>;
  /** Set up pins by analog channel, for analog reports. */
  channels: Map<number, PinConfig>;
  lost: boolean;
  /** Rejects what is waiting on this session when it is lost or closed. */
  failAll: Set<(err: FirmataError) => void>;
}

export function describeFirmataEndpoint(e: FirmataEndpoint): string {
  if (e.kind === 'serial') return `${e.path} ${e.baudRate} (firmata)`;
  return `${e.host.includes(':') ? `[${e.host}]` : e.host}:${e.port} (firmata)`;
}

/**
 * A BoardTransport on johnny-five 2 and firmata-io 2, over our serialport 13 (a serial board) or
 * a net.Socket (a network board). johnny-five's Board owns the connect/ready life cycle; pin I/O
 * goes to its io (firmata-io), which is what johnny-five's own components do.
 *
 * What it adds to the libraries (their quirks, where they bite):
 * - johnny-five would start a REPL on stdin, exit the process on SIGINT and throw unhandled
 *   'error' events (its connect timeout, relayed io errors): the REPL and SIGINT handler are
 *   off, every event it emits has a listener, and its connect timer is cleared with the board.
 * - johnny-five keeps every Board it ever made in a module-level array (Board.cache): a board
 *   that reconnects for days would leak one per reconnect; each is removed when its link closes.
 * - firmata-io asks for the version once, after reportVersionTimeout (5 s by default, all of it
 *   spent waiting on a board that is already running), and never again: if that request is lost
 *   (the board was still booting) the handshake hangs. It is asked after 100 ms, then again every
 *   versionQueryIntervalMs until it arrives, under our own handshake timeout.
 * - firmata-io sends "open" on the transport as its connect event: a net.Socket emits "connect",
 *   so the socket relays it.
 * - A Firmata digital write carries a whole 8-pin port, and StandardFirmata takes a 1 for an
 *   input pin of that port as "enable its pull-up". firmata-io fills those bits with the inputs'
 *   last reported levels, so writing a siren relay would switch on the pull-up of a float switch
 *   that happened to read high. Before each write the input bits are set to what each input was
 *   configured with.
 * - firmata-io's pinMode(ANALOG) sends nothing; PIN_MODE is sent for analog pins here.
 * - Queries that are never answered never call back: each has its own timer.
 */
export class FirmataBoardTransport implements BoardTransport {
  readonly kind: 'serial' | 'tcp';
  readonly description: string;
  private readonly endpoint: FirmataEndpoint;
  private readonly handshakeTimeoutMs: number;
  private readonly versionQueryIntervalMs: number;
  private readonly samplingIntervalMs: number;
  private readonly log: TransportLogger | undefined;
  private readonly now: () => number;
  private session: Session | undefined;
  private opening: Promise<void> | undefined;
  /** Ends a handshake under way (close() during open()). */
  private abortOpen: ((err: FirmataError) => void) | undefined;
  private boardInfo: BoardInfo | undefined;
  private generation = 0;
  private readonly lostListeners = new Set<(err: FirmataError) => void>();

  constructor(options: FirmataBoardTransportOptions) {
    this.endpoint = options.endpoint;
    this.kind = options.endpoint.kind;
    this.description = describeFirmataEndpoint(options.endpoint);
    this.handshakeTimeoutMs = options.handshakeTimeoutMs ?? 10_000;
    this.versionQueryIntervalMs = options.versionQueryIntervalMs ?? 2000;
    this.samplingIntervalMs = options.samplingIntervalMs ?? 100;
    this.log = options.logger;
    this.now = options.now ?? Date.now;
  }

  get isOpen(): boolean {
    return this.session !== undefined && !this.session.lost;
  }

  get info(): BoardInfo | undefined {
    return this.isOpen ? this.boardInfo : undefined;
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
    this.abortOpen?.(portError(this.description, new Error('closed while opening')));
    const s = this.session;
    this.session = undefined;
    if (s) await this.dispose(s, closedError(this.description));
  }

  onLost(listener: (err: FirmataError) => void): () => void {
    this.lostListeners.add(listener);
    return () => this.lostListeners.delete(listener);
  }

  setupPin(setup: PinSetup): void {
    const s = this.live();
    const io = s.io;
    const resolved = resolvePin(setup.pin, { pinCount: io.pins.length, analogPins: io.analogPins }, setup.mode);
    if (typeof resolved === 'string') throw pinError(this.description, resolved);
    const supported = io.pins[resolved.pin]?.supportedModes ?? [];
    const want = setup.mode === 'analog-in' ? FIRMATA.ANALOG : setup.mode === 'digital-out' ? FIRMATA.OUTPUT : FIRMATA.INPUT;
    if (!supported.includes(want)) {
      const can = supported.map((m) => MODE_NAMES[m] ?? `mode ${m}`).join(', ') || 'nothing (reserved, e.g. the serial pins)';
      throw pinError(this.description, `${resolved.label} cannot be ${setup.mode} (the board says it can do: ${can})`);
    }
    const other = s.pins.get(resolved.pin);
    if (other && other.setup.mode !== setup.mode) throw pinError(this.description, `${resolved.label} is already set up as ${other.setup.mode}`);
    const cfg: PinConfig = { resolved, setup, sample: undefined, pulses: { rising: 0, falling: 0, since: this.now() } };
    s.pins.set(resolved.pin, cfg);
    switch (setup.mode) {
      case 'analog-in':
        s.channels.set(resolved.channel!, cfg);
        this.send(s, [PIN_MODE, resolved.pin, FIRMATA.ANALOG]);
        io.pins[resolved.pin]!.mode = FIRMATA.ANALOG;
        io.reportAnalogPin(resolved.channel!, 1);
        break;
      case 'digital-out':
        // StandardFirmata drives an output low when its mode is set; the initial level follows at once.
        io.pinMode(resolved.pin, FIRMATA.OUTPUT);
        this.fixInputBits(s, resolved.pin >> 3);
        io.digitalWrite(resolved.pin, setup.initial === true ? 1 : 0);
        break;
      case 'digital-in':
      case 'pulse-counter': {
        const pullupMode = setup.pullUp === true && supported.includes(FIRMATA.PULLUP);
        io.pinMode(resolved.pin, pullupMode ? FIRMATA.PULLUP : FIRMATA.INPUT);
        // Setting INPUT switches the pull-up off; before Firmata 2.5 (no PULLUP mode) a 1 written to the input enables it.
        if (setup.pullUp === true && !pullupMode) this.writePort(s, resolved.pin >> 3);
        io.reportDigitalPin(resolved.pin, 1);
        break;
      }
    }
  }

  digitalValue(pin: PinRef): Sample | undefined {
    const cfg = this.configOf(pin, ['digital-in', 'pulse-counter', 'digital-out']);
    return cfg?.sample ? { ...cfg.sample } : undefined;
  }

  analogValue(pin: PinRef): Sample | undefined {
    const cfg = this.configOf(pin, ['analog-in']);
    return cfg?.sample ? { ...cfg.sample } : undefined;
  }

  pulseCount(pin: PinRef): PulseCount {
    const cfg = this.configOf(pin, ['pulse-counter', 'digital-in']);
    if (!cfg) throw pinError(this.description, `${String(pin)} is not set up as an input`);
    return { ...cfg.pulses };
  }

  async digitalWrite(pin: PinRef, value: boolean, timeoutMs: number): Promise<boolean> {
    const s = this.live();
    const cfg = this.configOf(pin, ['digital-out']);
    if (!cfg) throw pinError(this.description, `${String(pin)} is not set up as a digital output`);
    const n = cfg.resolved.pin;
    this.fixInputBits(s, n >> 3);
    s.io.digitalWrite(n, value ? 1 : 0);
    const state = await this.queryPinState(pin, timeoutMs);
    cfg.sample = { value: state, at: this.now() };
    return state === 1;
  }

  async queryPinState(pin: PinRef, timeoutMs: number): Promise<number> {
    const s = this.live();
    const cfg = this.configOf(pin, ['digital-out', 'digital-in', 'pulse-counter', 'analog-in']);
    if (!cfg) throw pinError(this.description, `${String(pin)} is not set up`);
    const n = cfg.resolved.pin;
    return this.request<number>(s, `the pin state query of ${cfg.resolved.label}`, timeoutMs, (done) => {
      const listener = () => done(undefined, s.io.pins[n]?.state ?? 0);
      s.io.once(`pin-state-${n}`, listener);
      // Sent here rather than with io.queryPinState, whose callback would stay registered if no answer came.
      this.send(s, [0xf0, PIN_STATE_QUERY, n, 0xf7]);
      return () => s.io.removeListener(`pin-state-${n}`, listener);
    }).then((state) => {
      if (cfg.setup.mode === 'digital-out') cfg.sample = { value: state, at: this.now() };
      return state;
    });
  }

  async ping(timeoutMs: number): Promise<number> {
    const s = this.live();
    const t0 = performance.now();
    return this.request<number>(s, 'a version query', timeoutMs, (done) => {
      const listener = () => done(undefined, performance.now() - t0);
      s.io.once('reportversion', listener);
      this.send(s, [0xf9]);
      return () => s.io.removeListener('reportversion', listener);
    });
  }

  private configOf(pin: PinRef, modes: string[]): PinConfig | undefined {
    const s = this.session;
    if (!s) return undefined;
    const resolved = resolvePin(pin, { pinCount: s.io.pins.length, analogPins: s.io.analogPins }, modes[0] === 'analog-in' ? 'analog-in' : 'digital-in');
    if (typeof resolved === 'string') return undefined;
    const cfg = s.pins.get(resolved.pin);
    return cfg && modes.includes(cfg.setup.mode) ? cfg : undefined;
  }

  private live(): Session {
    const s = this.session;
    if (!s || s.lost) throw closedError(this.description);
    return s;
  }

  /** The bits of a port's input pins as configured (pull-up or not), so a write cannot flip pull-ups. */
  private fixInputBits(s: Session, port: number): void {
    for (const cfg of s.pins.values()) {
      const n = cfg.resolved.pin;
      if (n >> 3 !== port || (cfg.setup.mode !== 'digital-in' && cfg.setup.mode !== 'pulse-counter')) continue;
      const pullupMode = s.io.pins[n]?.mode === FIRMATA.PULLUP;
      const bit = 1 << (n & 7);
      if (cfg.setup.pullUp === true && !pullupMode) s.io.ports[port]! |= bit;
      else s.io.ports[port]! &= ~bit;
    }
  }

  private writePort(s: Session, port: number): void {
    this.fixInputBits(s, port);
    const v = s.io.ports[port] ?? 0;
    this.send(s, [0x90 | port, v & 0x7f, (v >> 7) & 0x7f]);
  }

  private send(s: Session, bytes: number[]): void {
    s.stream.write(Buffer.from(bytes), (err) => {
      if (!err) return;
      this.log?.debug({ transport: this.description, err }, 'firmata write failed');
      // A port that fails writes is gone even when it said nothing (a pty whose other end closed).
      this.handleLost(s, err);
    });
  }

  /** One query with its own timer; fails at once if the link is lost meanwhile. */
  private request<T>(s: Session, what: string, timeoutMs: number, start: (done: (err: FirmataError | undefined, v?: T) => void) => () => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let cleanup = (): void => undefined;
      const finish = (err: FirmataError | undefined, v?: T): void => {
        clearTimeout(timer);
        s.failAll.delete(fail);
        cleanup();
        if (err) reject(err);
        else resolve(v as T);
      };
      const fail = (err: FirmataError) => finish(err);
      const timer = setTimeout(() => {
        // A serial device that is gone (USB unplugged, the pty's socat ended) does not always say
        // so on the open port; its device node is gone, though.
        const e = this.endpoint;
        if (e.kind === 'serial' && !existsSync(e.path)) {
          const lost = lostError(this.description, new Error(`${e.path} no longer exists`));
          finish(lost);
          this.handleLost(s, lost);
        } else finish(queryTimeout(this.description, what, timeoutMs));
      }, timeoutMs);
      s.failAll.add(fail);
      cleanup = start(finish);
    });
  }

  private createStream(): FirmataTransport & { destroy?: () => void } {
    const e = this.endpoint;
    if (e.kind === 'serial') return new SerialPort({ path: e.path, baudRate: e.baudRate, autoOpen: false, highWaterMark: 256 });
    const socket = new net.Socket();
    socket.setNoDelay(true);
    // firmata-io takes the transport's "open" as its connect event.
    socket.once('connect', () => socket.emit('open'));
    return socket;
  }

  private async connect(): Promise<void> {
    const generation = this.generation;
    if (this.session) {
      const old = this.session;
      this.session = undefined;
      await this.dispose(old, closedError(this.description));
    }
    const lib = await loadLibraries();
    const t0 = performance.now();
    const stream = this.createStream();
    // firmata-io asks for the version itself only once; see versionQueryIntervalMs.
    const io = new lib.Firmata(stream, { reportVersionTimeout: FIRST_VERSION_QUERY_MS, samplingInterval: this.samplingIntervalMs });
    const board = new lib.Board({ io, repl: false, debug: false, sigint: false, timeout: this.handshakeTimeoutMs });
    const s: Session = { io, board, boards: lib.Board.cache, stream, pins: new Map(), channels: new Map(), lost: false, failAll: new Set() };
    const log = (level: 'debug' | 'warn', msg: string) => (e: unknown) => this.log?.[level]({ transport: this.description, err: e }, msg);
    // johnny-five throws 'error' events nobody listens to; these are logged instead (failures surface through our own timers and the port).
    board.on('error', log('debug', 'johnny-five error'));
    for (const ev of ['fail', 'warn', 'info', 'message']) board.on(ev, () => undefined);
    io.on('error', log('debug', 'firmata io error'));
    stream.on('error', log('debug', 'firmata port error'));
    io.on('digital-read', ({ pin, value }: { pin: number; value: number }) => this.onDigital(s, pin, value));
    io.on('analog-read', ({ pin, value }: { pin: number; value: number }) => this.onAnalog(s, pin, value));

    let stage = 'opening the port';
    let stopAsking: NodeJS.Timeout | undefined;
    let timer: NodeJS.Timeout | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        this.abortOpen = reject;
        timer = setTimeout(() => reject(stage === 'opening the port' ? portError(this.description, new Error(`cannot open within ${this.handshakeTimeoutMs} ms`)) : handshakeTimeout(this.description, this.handshakeTimeoutMs, stage)), this.handshakeTimeoutMs);
        const onClose = (err?: unknown) => reject(portError(this.description, err instanceof Error ? err : new Error('closed during the handshake')));
        stream.once('close', onClose);
        stream.once('error', (err) => reject(portError(this.description, err)));
        board.once('ready', () => {
          stream.off('close', onClose);
          resolve();
        });
        io.once('reportversion', () => (stage = 'waiting for the firmware name and the capability report'));
        stream.once('open', () => {
          stage = 'waiting for the board to report its version';
          stopAsking = setInterval(() => {
            // The first ask is firmata-io's own (reportVersionTimeout); the later ones are ours.
            if (io.versionReceived) return;
            this.send(s, [0xf9]);
            this.send(s, [0xf0, 0x79, 0xf7]);
          }, this.versionQueryIntervalMs);
        });
        if (stream instanceof SerialPort) stream.open((err) => err && reject(portError(this.description, err)));
        else {
          const e = this.endpoint as Extract<FirmataEndpoint, { kind: 'tcp' }>;
          (stream as net.Socket).connect(e.port, e.host);
        }
      });
    } catch (err) {
      await this.dispose(s, err as FirmataError);
      throw err;
    } finally {
      this.abortOpen = undefined;
      clearTimeout(timer);
      clearInterval(stopAsking);
    }
    if (generation !== this.generation) {
      await this.dispose(s, closedError(this.description));
      throw portError(this.description, new Error('closed while opening'));
    }
    stream.once('close', (err?: unknown) => this.handleLost(s, err));
    stream.on('end', () => this.handleLost(s, new Error('the other end closed the connection')));
    // serialport reports a read failure (EIO: the device went away) as 'error' and may not close.
    stream.on('error', (err) => this.handleLost(s, err));
    this.session = s;
    const v = io.firmware.version;
    this.boardInfo = {
      firmware: `${io.firmware.name ?? 'unknown'}${v ? ` ${v.major}.${v.minor}` : ''}`,
      protocol: `${io.version.major ?? '?'}.${io.version.minor ?? '?'}`,
      pinCount: io.pins.length,
      analogPins: [...io.analogPins],
      handshakeMs: performance.now() - t0,
    };
    this.log?.debug({ transport: this.description, board: this.boardInfo }, 'firmata board ready');
  }

  private onDigital(s: Session, pin: number, value: number): void {
    const cfg = s.pins.get(pin);
    if (!cfg || cfg.setup.mode === 'analog-in' || cfg.setup.mode === 'digital-out') return;
    const prev = cfg.sample?.value;
    if (prev !== undefined && prev !== value) {
      if (value === 1) cfg.pulses.rising++;
      else cfg.pulses.falling++;
    }
    cfg.sample = { value, at: this.now() };
  }

  private onAnalog(s: Session, channel: number, value: number): void {
    const cfg = s.channels.get(channel);
    if (cfg) cfg.sample = { value, at: this.now() };
  }

  private handleLost(s: Session, cause: unknown): void {
    if (s.lost || this.session !== s) return;
    s.lost = true;
    const err = cause instanceof FirmataError ? cause : lostError(this.description, cause);
    this.log?.warn({ transport: this.description, err }, 'firmata board lost');
    void this.dispose(s, err);
    for (const l of this.lostListeners) l(err);
  }

  /** Closes a session's stream and forgets its johnny-five board; never rejects. */
  private async dispose(s: Session, err: FirmataError): Promise<void> {
    s.lost = true;
    for (const fail of [...s.failAll]) fail(err);
    s.failAll.clear();
    if (s.board.timer) clearTimeout(s.board.timer);
    const i = s.boards.indexOf(s.board);
    if (i >= 0) s.boards.splice(i, 1);
    s.io.removeAllListeners('digital-read');
    s.io.removeAllListeners('analog-read');
    const stream = s.stream;
    if (stream instanceof SerialPort) {
      if (stream.isOpen) await new Promise<void>((resolve) => stream.close(() => resolve()));
    } else stream.destroy?.();
  }
}

const MODE_NAMES: Record<number, string> = { 0: 'digital-in', 1: 'digital-out', 2: 'analog-in', 3: 'pwm', 4: 'servo', 6: 'i2c', 11: 'pull-up input' };

export { FirmataError };
