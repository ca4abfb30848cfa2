import {
  AVRADC,
  AVRIOPort,
  AVRTimer,
  AVRUSART,
  CPU,
  PinState,
  adcConfig,
  avrInstruction,
  portBConfig,
  portCConfig,
  portDConfig,
  timer0Config,
  timer1Config,
  timer2Config,
  usart0Config,
} from 'avr8js';
import intelHex from 'intel-hex';

/** ATmega328P at 16 MHz, as on an Arduino Uno. */
export const CPU_HZ = 16_000_000;
const CYCLES_PER_MS = CPU_HZ / 1000;
const FLASH_BYTES = 32 * 1024;
/** Wall time one run slice may take before the event loop gets a turn. */
const SLICE_MS = 8;
/** Further behind real time than this, the emulator stops trying to catch up (it is slower than real time). */
const MAX_LAG_MS = 50;

/** Arduino pin number of the Uno: D0-D7 are PORTD, D8-D13 PORTB, A0-A5 (D14-D19) PORTC. */
export const UNO_DIGITAL_PINS = 20;
export const UNO_ANALOG_CHANNELS = 6;

export type PinLevel = 'low' | 'high' | 'input' | 'input-pullup';

/** One change of a pin driven by the firmware. `at` is wall-clock ms, `boardMs` the emulated ms since reset. */
export interface PinChange {
  at: number;
  boardMs: number;
  level: PinLevel;
}

export interface AvrUnoOptions {
  /** The firmware as Intel HEX text. */
  hex: string;
  /** Wall clock for the output history (epoch ms). Default Date.now. */
  now?: () => number;
  /** Monotonic clock that paces the emulator (ms). Default performance.now. */
  monotonic?: () => number;
}

export interface AvrUnoStats {
  /** Emulated milliseconds since reset. */
  boardMs: number;
  /** Wall milliseconds the emulator has been running. */
  runMs: number;
  /** boardMs / runMs: 1 is real time. */
  speed: number;
}

/** Parses Intel HEX into the program memory words of a 32 KiB flash. */
export function loadFirmware(hex: string): Uint16Array {
  const { data } = intelHex.parse(hex, FLASH_BYTES);
  const bytes = new Uint8Array(FLASH_BYTES);
  bytes.set(data.subarray(0, FLASH_BYTES));
  return new Uint16Array(bytes.buffer);
}

function portOf(pin: number): { port: 'B' | 'C' | 'D'; bit: number } {
  if (!Number.isInteger(pin) || pin < 0 || pin >= UNO_DIGITAL_PINS) throw new RangeError(`no pin ${pin} on an Uno (0..${UNO_DIGITAL_PINS - 1})`);
  if (pin < 8) return { port: 'D', bit: pin };
  if (pin < 14) return { port: 'B', bit: pin - 8 };
  return { port: 'C', bit: pin - 14 };
}

const LEVEL: Record<PinState, PinLevel> = {
  [PinState.Low]: 'low',
  [PinState.High]: 'high',
  [PinState.Input]: 'input',
  [PinState.InputPullUp]: 'input-pullup',
};

/**
 * An Arduino Uno in software: avr8js executing real firmware (the ATmega328P's timers, GPIO
 * ports, ADC and USART0), paced to the wall clock. It never runs ahead of real time; when the
 * host is too slow it runs as fast as it can (about real time on a desktop core: it burns that
 * core while it runs). Serial bytes go in and out through serialIn()/onSerialOut(), at the
 * baud rate the firmware programmed; the pins are the simulated wiring.
 */
export class AvrUno {
  private readonly cpu: CPU;
  private readonly ports: Record<'B' | 'C' | 'D', AVRIOPort>;
  private readonly usart: AVRUSART;
  private readonly adc: AVRADC;
  private readonly now: () => number;
  private readonly monotonic: () => number;
  private readonly rx: number[] = [];
  private readonly txListeners = new Set<(bytes: Buffer) => void>();
  private tx: number[] = [];
  private readonly history = new Map<number, PinChange[]>();
  private readonly levels: PinLevel[] = [];
  private timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  private running = false;
  private startedAt = 0;
  /** Wall time (monotonic) that corresponds to cpu.cycles 0, shifted forward when the emulator lags. */
  private epoch = 0;
  private runMs = 0;

  constructor(options: AvrUnoOptions) {
    this.now = options.now ?? Date.now;
    this.monotonic = options.monotonic ?? (() => performance.now());
    this.cpu = new CPU(loadFirmware(options.hex));
    // Timers: millis()/delay() (timer0), PWM (1, 2).
    new AVRTimer(this.cpu, timer0Config);
    new AVRTimer(this.cpu, timer1Config);
    new AVRTimer(this.cpu, timer2Config);
    this.ports = { B: new AVRIOPort(this.cpu, portBConfig), C: new AVRIOPort(this.cpu, portCConfig), D: new AVRIOPort(this.cpu, portDConfig) };
    this.adc = new AVRADC(this.cpu, adcConfig);
    this.usart = new AVRUSART(this.cpu, usart0Config, CPU_HZ);
    this.usart.onByteTransmit = (b) => this.tx.push(b);
    this.usart.onRxComplete = () => this.feed();
    for (let pin = 0; pin < UNO_DIGITAL_PINS; pin++) this.levels[pin] = 'input';
    for (const [name, port] of Object.entries(this.ports) as Array<['B' | 'C' | 'D', AVRIOPort]>) {
      port.addListener(() => this.onPortWrite(name, port));
    }
  }

  /** Starts (or resumes) executing. */
  start(): void {
    if (this.running) return;
    this.running = true;
    const t = this.monotonic();
    this.startedAt = t;
    this.epoch = t - this.cpu.cycles / CYCLES_PER_MS;
    this.schedule(false);
  }

  /** Pauses the CPU (a hung board: nothing answers, the pins keep their levels). */
  stop(): void {
    if (!this.running) return;
    this.running = false;
    this.runMs += this.monotonic() - this.startedAt;
    if (this.timer) {
      clearTimeout(this.timer as NodeJS.Timeout);
      clearImmediate(this.timer as NodeJS.Immediate);
    }
    this.timer = undefined;
  }

  get isRunning(): boolean {
    return this.running;
  }

  /** Bytes to the board's RX pin; delivered at the firmware's baud rate. Dropped while its receiver is off. */
  serialIn(bytes: Uint8Array): void {
    for (const b of bytes) this.rx.push(b);
    this.feed();
  }

  /** Receives what the board transmits, in chunks. */
  onSerialOut(listener: (bytes: Buffer) => void): () => void {
    this.txListeners.add(listener);
    return () => this.txListeners.delete(listener);
  }

  /** Drives a pin from outside (a switch to ground or to 5 V); the firmware reads it when the pin is an input. */
  setDigitalInput(pin: number, high: boolean): void {
    const { port, bit } = portOf(pin);
    this.ports[port].setPin(bit, high);
  }

  /** The voltage on analog input A0..A5 (0..5 V, AVCC reference). */
  setAnalogVoltage(channel: number, volts: number): void {
    if (!Number.isInteger(channel) || channel < 0 || channel >= UNO_ANALOG_CHANNELS) throw new RangeError(`no analog input A${channel} on an Uno (A0..A5)`);
    if (!Number.isFinite(volts)) throw new RangeError(`analog voltage must be a number, got ${volts}`);
    this.adc.channelValues[channel] = Math.min(5, Math.max(0, volts));
  }

  /**
   * Pulses an input pin in emulated time, as a reed switch does when a tipping bucket tips:
   * `count` pulses to `active` for widthMs, one every periodMs. Resolves after the last one.
   */
  pulse(pin: number, opts: { count: number; widthMs: number; periodMs: number; active?: boolean }): Promise<void> {
    const { count, widthMs, periodMs } = opts;
    const active = opts.active ?? true;
    if (!(count >= 1) || !(widthMs > 0) || !(periodMs > widthMs)) throw new RangeError('pulse needs count >= 1 and 0 < widthMs < periodMs');
    const { port, bit } = portOf(pin);
    const io = this.ports[port];
    return new Promise((resolve) => {
      let n = 0;
      const on = () => {
        io.setPin(bit, active);
        this.cpu.addClockEvent(off, Math.round(widthMs * CYCLES_PER_MS));
      };
      const off = () => {
        io.setPin(bit, !active);
        n++;
        if (n < count) this.cpu.addClockEvent(on, Math.round((periodMs - widthMs) * CYCLES_PER_MS));
        else resolve();
      };
      io.setPin(bit, !active);
      on();
    });
  }

  /** What the firmware drives on a pin now. */
  pinLevel(pin: number): PinLevel {
    const { port, bit } = portOf(pin);
    return LEVEL[this.ports[port].pinState(bit)];
  }

  /** Every change of the pin's driven level since start (outputs switching, pull-ups enabled), oldest first. */
  pinHistory(pin: number): readonly PinChange[] {
    portOf(pin);
    return [...(this.history.get(pin) ?? [])];
  }

  stats(): AvrUnoStats {
    const boardMs = this.cpu.cycles / CYCLES_PER_MS;
    const runMs = this.runMs + (this.running ? this.monotonic() - this.startedAt : 0);
    return { boardMs, runMs, speed: runMs > 0 ? boardMs / runMs : 0 };
  }

  private onPortWrite(name: 'B' | 'C' | 'D', port: AVRIOPort): void {
    const base = name === 'D' ? 0 : name === 'B' ? 8 : 14;
    const bits = name === 'B' ? 6 : name === 'C' ? 6 : 8;
    for (let bit = 0; bit < bits; bit++) {
      const pin = base + bit;
      const level = LEVEL[port.pinState(bit)];
      if (level === this.levels[pin]) continue;
      this.levels[pin] = level;
      let list = this.history.get(pin);
      if (!list) this.history.set(pin, (list = []));
      list.push({ at: this.now(), boardMs: this.cpu.cycles / CYCLES_PER_MS, level });
      if (list.length > 10_000) list.splice(0, list.length - 10_000);
    }
  }

  private feed(): void {
    if (this.rx.length === 0 || this.usart.rxBusy) return;
    if (!this.usart.rxEnable) {
      this.rx.length = 0;
      return;
    }
    this.usart.writeByte(this.rx.shift()!);
  }

  private schedule(idle: boolean): void {
    if (!this.running) return;
    this.timer = idle ? setTimeout(() => this.slice(), 1) : setImmediate(() => this.slice());
  }

  /** Runs the CPU up to the wall clock, for at most SLICE_MS of wall time, then yields. */
  private slice(): void {
    if (!this.running) return;
    const cpu = this.cpu;
    const t0 = this.monotonic();
    let target = (t0 - this.epoch) * CYCLES_PER_MS;
    if (target - cpu.cycles > MAX_LAG_MS * CYCLES_PER_MS) {
      // Slower than real time: give up the backlog rather than race to catch it up.
      this.epoch = t0 - cpu.cycles / CYCLES_PER_MS - MAX_LAG_MS;
      target = cpu.cycles + MAX_LAG_MS * CYCLES_PER_MS;
    }
    let now = t0;
    while (cpu.cycles < target && now - t0 < SLICE_MS) {
      const stop = Math.min(target, cpu.cycles + CYCLES_PER_MS);
      while (cpu.cycles < stop) {
        avrInstruction(cpu);
        cpu.tick();
      }
      this.flushTx();
      now = this.monotonic();
    }
    this.flushTx();
    this.schedule(cpu.cycles >= target);
  }

  private flushTx(): void {
    if (this.tx.length === 0) return;
    const out = Buffer.from(this.tx);
    this.tx = [];
    for (const l of this.txListeners) l(out);
  }
}
