import type net from 'node:net';
import type { Logger } from 'pino';
import { SerialPort } from 'serialport';
import { TcpListener } from '../endpoints/endpoint.js';
import { SimError } from '../errors.js';
import { AvrUno, type AvrUnoStats, type PinChange, type PinLevel } from './avr-uno.js';
import firmware from './firmware/standard-firmata-uno.json' with { type: 'json' };

/** Where the board's USART is wired: a serial device (one end of a socat pty pair) or a TCP server (a network board, ser2net). */
export type FirmataLink = { kind: 'serial'; path: string } | { kind: 'tcp'; host: string; port: number };

export interface SimFirmataBoardOptions {
  id: string;
  link: FirmataLink;
  logger: Logger;
  /** Wall clock for pin histories. Default Date.now. */
  now?: () => number;
  /** Intel HEX of the firmware; default StandardFirmata for the Uno (see firmware/NOTICE.md). */
  hex?: string;
}

export interface FirmataBoardInfo {
  id: string;
  transport: 'firmata-serial' | 'firmata-tcp';
  path?: string;
  host?: string;
  port?: number;
  firmware: string;
}

/** The StandardFirmata image for the Uno shipped with the simulator. */
export function standardFirmataHex(): string {
  return firmware.hex.join('\n');
}

/** Parses "D2", "A0" or "13" into an Uno pin number (A0..A5 are D14..D19). */
export function unoPin(name: string | number): number {
  if (typeof name === 'number') return name;
  const m = /^([DA]?)(\d{1,2})$/i.exec(name.trim());
  if (!m) throw new SimError('SIM_BAD_VALUE', `"${name}" is not a pin (D0..D19, A0..A5 or a number)`);
  const n = Number(m[2]);
  return m[1]?.toUpperCase() === 'A' ? 14 + n : n;
}

/**
 * A microcontroller board running StandardFirmata in the AVR emulator, reachable on a serial
 * device or over TCP, with its pins wired to simulated sensors and actuators: drive a digital
 * input (a float switch), pulse one (a rain gauge's reed switch), set an analog voltage (a light
 * sensor) and watch the digital outputs (a siren relay) with the time of every change.
 *
 * The link can be cut and restored while the board keeps running (a USB cable pulled out and
 * plugged back; a network board's socket dropped), and the CPU paused (a hung board).
 */
export class SimFirmataBoard {
  readonly id: string;
  private unoNow: AvrUno;
  private readonly options: SimFirmataBoardOptions;
  private readonly log: Logger;
  private port: SerialPort | undefined;
  private listener: TcpListener | undefined;
  private detachTx: (() => void) | undefined;
  private readonly sockets = new Set<net.Socket>();
  private started = false;
  /** The TCP port bound by the first attach, kept when the link is restored. */
  private boundPort: number | undefined;

  constructor(options: SimFirmataBoardOptions) {
    this.id = options.id;
    this.options = options;
    this.log = options.logger.child({ board: options.id });
    this.unoNow = this.powerOn();
  }

  /** The emulated microcontroller (a new one after a power cycle). */
  get uno(): AvrUno {
    return this.unoNow;
  }

  private powerOn(): AvrUno {
    return new AvrUno({ hex: this.options.hex ?? standardFirmataHex(), ...(this.options.now && { now: this.options.now }) });
  }

  /** Powers the board up (the firmware boots: about 2 s of board time, its version blink) and opens the link. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.uno.start();
    try {
      await this.attach();
    } catch (err) {
      this.uno.stop();
      this.started = false;
      throw err;
    }
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    await this.detach();
    this.uno.stop();
  }

  /**
   * Opens the link again after detach(): the serial port (e.g. a new pty at the same path) or the
   * TCP listener. A board detached with powerOff boots again first (its outputs start low, the
   * firmware blinks its version for about 2 s of board time).
   */
  async attach(): Promise<void> {
    if (this.started && !this.uno.isRunning) this.uno.start();
    const link = this.options.link;
    this.detachTx = this.uno.onSerialOut((bytes) => {
      if (this.port?.isOpen) this.port.write(bytes);
      for (const s of this.sockets) if (!s.destroyed) s.write(bytes);
    });
    if (link.kind === 'serial') {
      const port = new SerialPort({ path: link.path, baudRate: 57600, autoOpen: false });
      await new Promise<void>((resolve, reject) => {
        port.open((err) => (err ? reject(new SimError('SIM_LISTEN', `board ${this.id}: cannot open serial port ${link.path}: ${err.message}`, { cause: err })) : resolve()));
      });
      port.on('data', (chunk: Buffer) => this.uno.serialIn(chunk));
      port.on('error', (err) => this.log.warn({ err: err.message }, 'board serial port error'));
      port.on('close', () => {
        if (this.port === port) this.port = undefined;
      });
      this.port = port;
    } else {
      const listener = new TcpListener(
        link.host,
        this.boundPort ?? link.port,
        (socket) => {
          // One host at a time, as a board's single UART: a second connection replaces the first.
          for (const s of this.sockets) s.destroy();
          this.sockets.add(socket);
          socket.on('data', (chunk: Buffer) => this.uno.serialIn(chunk));
          socket.on('close', () => this.sockets.delete(socket));
        },
        this.log,
      );
      await listener.start();
      this.listener = listener;
      this.boundPort = listener.address?.port;
    }
  }

  /**
   * Cuts the link: the serial port is closed, TCP clients dropped and the listener closed. The CPU
   * keeps running unless powerOff (a USB board loses its power with its cable): then the board
   * is a fresh one when attached again.
   */
  async detach(opts: { powerOff?: boolean } = {}): Promise<void> {
    if (opts.powerOff) {
      this.uno.stop();
      this.unoNow = this.powerOn();
    }
    this.detachTx?.();
    this.detachTx = undefined;
    const port = this.port;
    this.port = undefined;
    if (port?.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    const listener = this.listener;
    this.listener = undefined;
    await listener?.stop();
  }

  info(): FirmataBoardInfo {
    const link = this.options.link;
    const name = 'StandardFirmata 2.4 (Arduino Uno, avr8js)';
    if (link.kind === 'serial') return { id: this.id, transport: 'firmata-serial', path: link.path, firmware: name };
    const addr = this.listener?.address;
    return { id: this.id, transport: 'firmata-tcp', host: addr?.host ?? link.host, port: addr?.port ?? link.port, firmware: name };
  }

  /** A float switch or any contact: drives the pin high or low. */
  setDigital(pin: string | number, high: boolean): void {
    this.uno.setDigitalInput(unoPin(pin), high);
  }

  /** A light sensor or any 0..5 V signal on A0..A5. */
  setAnalog(pin: string | number, volts: number): void {
    const n = unoPin(pin);
    if (n < 14) throw new SimError('SIM_BAD_VALUE', `pin ${pin} is not an analog input (A0..A5)`);
    this.uno.setAnalogVoltage(n - 14, volts);
  }

  /** A rain gauge: `count` pulses of widthMs every periodMs (board time), to `active` (default low: a reed switch to ground). */
  pulse(pin: string | number, opts: { count: number; widthMs?: number; periodMs?: number; active?: boolean }): Promise<void> {
    return this.uno.pulse(unoPin(pin), { count: opts.count, widthMs: opts.widthMs ?? 50, periodMs: opts.periodMs ?? 200, active: opts.active ?? false });
  }

  /** What the firmware drives on the pin: 'high'/'low' for an output, 'input'/'input-pullup' otherwise. */
  level(pin: string | number): PinLevel {
    return this.uno.pinLevel(unoPin(pin));
  }

  /** Every change of the pin's driven level with its wall-clock time, e.g. to check a siren pattern. */
  history(pin: string | number): readonly PinChange[] {
    return this.uno.pinHistory(unoPin(pin));
  }

  /** Pauses (true) or resumes (false) the CPU: a hung board keeps its link open but answers nothing. */
  setHung(hung: boolean): void {
    if (hung) this.uno.stop();
    else if (this.started) this.uno.start();
  }

  stats(): AvrUnoStats {
    return this.uno.stats();
  }
}
