import * as z from 'zod';
import { SimError } from '../errors.js';
import { EXCEPTION, type Table } from '../modbus/register-bank.js';
import { SimDevice, type DeviceContext, type Snapshot } from './sim-device.js';

const HOUR = 3_600_000;
/** Registers of one ballast, from its base 7000*channel + 100*address. */
const BALLAST_REGS = 16;
const STATUS = 5;
const ACTUAL_LEVEL = 6;
const ARC_POWER = 15;
const BROADCAST = 6800;
const STATUS_BALLAST_FAILURE = 1 << 0;
const STATUS_LAMP_FAILURE = 1 << 1;
const STATUS_LAMP_ON = 1 << 2;

export const IntesisDaliOptions = z.strictObject({
  /** DALI channels of the gateway (register base 7000*channel). */
  channels: z.array(z.int().min(0).max(8)).min(1).default([0]),
  /** Ballasts on each channel, at DALI short addresses 0..n-1. */
  ballastsPerChannel: z.int().min(1).max(64).default(16),
  /** Power of one lamp at 100 %, watts. */
  lampWatts: z.number().min(0).max(2000).default(100),
  /** Time for the actual level to go from 0 to 100 %, simulated seconds. */
  rampSeconds: z.number().min(0).max(600).default(1),
  /** Chance per lamp per simulated hour of a lamp failure (0 = never). */
  lampFailuresPerHour: z.number().min(0).max(100).default(0),
  /** Arc power set-point of every ballast at start, %. */
  initialLevel: z.int().min(0).max(100).default(0),
});

export interface BallastState {
  channel: number;
  address: number;
  /** Arc power set-point, %. */
  setpoint: number;
  /** Actual level, % (ramps to the set-point; 0 when failed). */
  level: number;
  lampFailure: boolean;
  ballastFailure: boolean;
}

/** Anything whose electrical load a meter can follow. */
export interface PowerSource {
  /** Load now, watts. */
  powerWatts(): number;
  /** Registers a callback run just before the load is changed (a write, a failure), so a meter can integrate up to that moment. */
  onBeforeChange?(listener: () => void): () => void;
}

/**
 * Intesis DALI-to-Modbus gateway with many ballasts on one unit id. Per ballast, base =
 * 7000*ch + 100*addr: +5 status bits (b2 lamp on, b1 lamp failure, b0 ballast failure), +6
 * actual level 0-100, +15 arc power set-point (read/write); +0..+15 are mapped, the others
 * read 0. Broadcast level at 7000*ch + 6800: a write sets every ballast of the channel.
 */
export class IntesisDali extends SimDevice implements PowerSource {
  readonly model = 'intesis-dali';
  readonly settable = ['level', 'lampFailuresPerHour'] as const;
  private readonly ballasts = new Map<number, BallastState>();
  private lastUpdate: number | undefined;
  private failureRate: number;
  private readonly changeListeners = new Set<() => void>();

  constructor(
    ctx: DeviceContext,
    private readonly options: z.infer<typeof IntesisDaliOptions>,
  ) {
    super(ctx);
    this.failureRate = options.lampFailuresPerHour;
    for (const channel of new Set(options.channels)) {
      this.bank.map('holding', 7000 * channel + BROADCAST, { writable: true, value: options.initialLevel });
      for (let address = 0; address < options.ballastsPerChannel; address++) {
        const base = 7000 * channel + 100 * address;
        this.ballasts.set(base, { channel, address, setpoint: options.initialLevel, level: options.initialLevel, lampFailure: false, ballastFailure: false });
        this.bank.map('holding', base, { count: BALLAST_REGS });
        this.bank.map('holding', base + ARC_POWER, { writable: true, value: options.initialLevel });
      }
    }
  }

  onBeforeChange(listener: () => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  private beforeChange(): void {
    for (const listener of this.changeListeners) listener();
  }

  private ballastAt(channel: number, address: number): BallastState {
    const b = this.ballasts.get(7000 * channel + 100 * address);
    if (!b) throw new SimError('SIM_BAD_VALUE', `${this.id}: no ballast at channel ${channel} address ${address}`);
    return b;
  }

  /** State of one ballast now. */
  ballast(channel: number, address: number): BallastState {
    this.refresh();
    return { ...this.ballastAt(channel, address) };
  }

  ballastStates(): BallastState[] {
    this.refresh();
    return [...this.ballasts.values()].map((b) => ({ ...b }));
  }

  /** Sets a ballast's arc power set-point, as a Modbus write would. */
  setArcLevel(channel: number, address: number, level: number): void {
    this.refresh();
    this.beforeChange();
    this.ballastAt(channel, address).setpoint = clampLevel(level);
    this.refresh();
  }

  failLamp(channel: number, address: number, failed = true): void {
    this.refresh();
    this.beforeChange();
    this.ballastAt(channel, address).lampFailure = failed;
    this.refresh();
  }

  failBallast(channel: number, address: number, failed = true): void {
    this.refresh();
    this.beforeChange();
    this.ballastAt(channel, address).ballastFailure = failed;
    this.refresh();
  }

  /** Lamp load now: lampWatts x actual level of every working lamp. */
  powerWatts(): number {
    this.refresh();
    let watts = 0;
    for (const b of this.ballasts.values()) if (!b.lampFailure && !b.ballastFailure) watts += (this.options.lampWatts * b.level) / 100;
    return watts;
  }

  protected update(t: number): void {
    const dt = this.lastUpdate === undefined ? 0 : t - this.lastUpdate;
    if (this.lastUpdate !== undefined && dt < 0) return;
    this.lastUpdate = t;
    const failP = this.failureRate > 0 ? 1 - Math.exp((-this.failureRate * dt) / HOUR) : 0;
    const step = this.options.rampSeconds > 0 ? (100 * dt) / (this.options.rampSeconds * 1000) : Infinity;
    for (const [base, b] of this.ballasts) {
      if (failP > 0 && !b.lampFailure && this.ctx.random() < failP) {
        b.lampFailure = true;
        this.ctx.logger.info({ channel: b.channel, address: b.address }, 'lamp failed');
      }
      const target = b.lampFailure || b.ballastFailure ? 0 : b.setpoint;
      if (b.lampFailure || b.ballastFailure) b.level = 0;
      else if (b.level < target) b.level = Math.min(target, b.level + step);
      else if (b.level > target) b.level = Math.max(target, b.level - step);
      const status =
        (b.ballastFailure ? STATUS_BALLAST_FAILURE : 0) | (b.lampFailure ? STATUS_LAMP_FAILURE : 0) | (b.level > 0 ? STATUS_LAMP_ON : 0);
      this.bank.set('holding', base + STATUS, status);
      this.bank.set('holding', base + ACTUAL_LEVEL, Math.round(b.level));
      this.bank.set('holding', base + ARC_POWER, b.setpoint);
    }
  }

  protected state(): Snapshot {
    let on = 0;
    let failed = 0;
    for (const b of this.ballasts.values()) {
      if (b.level > 0) on++;
      if (b.lampFailure || b.ballastFailure) failed++;
    }
    return { ballasts: this.ballasts.size, lampsOn: on, failed, powerWatts: this.powerWatts() };
  }

  protected override applyValue(name: string, value: number | null): void {
    this.beforeChange();
    if (name === 'lampFailuresPerHour') this.failureRate = Math.max(0, value ?? this.options.lampFailuresPerHour);
    else for (const b of this.ballasts.values()) b.setpoint = clampLevel(value ?? this.options.initialLevel);
  }

  protected override validateWrite(_table: Table, _address: number, values: readonly number[]): number | undefined {
    // Every writable register (arc power, broadcast) takes a level 0..100 %.
    if (values.some((v) => v > 100)) return EXCEPTION.ILLEGAL_DATA_VALUE;
    this.beforeChange();
    return undefined;
  }

  protected override afterWrite(_table: Table, address: number, values: readonly number[]): void {
    values.forEach((v, i) => {
      const reg = address + i;
      const offset = reg % 7000;
      if (offset === BROADCAST) {
        const channel = (reg - BROADCAST) / 7000;
        for (const b of this.ballasts.values()) if (b.channel === channel) b.setpoint = v;
      } else {
        const b = this.ballasts.get(reg - ARC_POWER);
        if (b) b.setpoint = v;
      }
    });
    this.refresh();
  }
}

function clampLevel(level: number): number {
  return Math.max(0, Math.min(100, Math.round(level)));
}
