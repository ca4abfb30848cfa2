import type { Output } from './output.js';
import type { RegistryClient } from './registry-client.js';
import type { TimeZones } from './time-zones.js';

export type FlagValue = string | boolean | Array<string | boolean> | undefined;
export type Flags = Readonly<Record<string, FlagValue>>;

export interface OptionSpec {
  type: 'string' | 'boolean';
  multiple?: boolean;
  short?: string;
}

export interface CommandContext {
  /** `gateway create`: for messages. */
  command: string;
  /** Positional arguments after the command words, one per `spec.args` entry. */
  args: readonly string[];
  flags: Flags;
  client: RegistryClient;
  out: Output;
  /** The registry URL as given (for the enrollment command printed to technicians). */
  registryUrl: string;
  signal: AbortSignal;
  now(): number;
  /** The zone each record's times are shown in (its site's; JSON output keeps UTC ms). */
  zones: TimeZones;
}

export interface CommandSpec {
  group: string;
  /** '' for the group's only command (`edgectl events <gateway>`). */
  name: string;
  /** Positional argument names, e.g. ['gateway', 'lineId']; all required. */
  args: readonly string[];
  /** The options part of the usage line, e.g. `--name <name> --tz <zone> [--lat <deg> --lon <deg>]`. */
  synopsis?: string;
  summary: string;
  /** Option descriptions for `--help`, one per line. */
  help?: readonly string[];
  options: Readonly<Record<string, OptionSpec>>;
  /** Resolves with the exit code. */
  run(ctx: CommandContext): Promise<number>;
}

export function usageLine(spec: CommandSpec): string {
  return ['edgectl', spec.group, ...(spec.name ? [spec.name] : []), ...spec.args.map((a) => `<${a}>`), ...(spec.synopsis ? [spec.synopsis] : [])].join(' ');
}

/** Bad flags or arguments: the message names the flag; exit 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly code = 'EDGECTL_USAGE';
}

export function str(flags: Flags, name: string): string | undefined {
  const v = flags[name];
  return typeof v === 'string' ? v : undefined;
}

export function requireStr(flags: Flags, name: string, what: string): string {
  const v = str(flags, name);
  if (v === undefined || v === '') throw new UsageError(`--${name}: missing; expected ${what}`);
  return v;
}

export function bool(flags: Flags, name: string): boolean {
  return flags[name] === true;
}

export function list(flags: Flags, name: string): string[] {
  const v = flags[name];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : typeof v === 'string' ? [v] : [];
}

/** An integer flag; the range is left to the registry (it names the field), only the form is checked here. */
export function int(flags: Flags, name: string): number | undefined {
  const v = str(flags, name);
  if (v === undefined) return undefined;
  if (!/^-?\d{1,15}$/.test(v.trim())) throw new UsageError(`--${name}: expected an integer, got "${v}"`);
  return Number(v);
}

export function num(flags: Flags, name: string): number | undefined {
  const v = str(flags, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${name}: expected a number, got "${v}"`);
  return n;
}

export function oneOf<T extends string>(flags: Flags, name: string, allowed: readonly T[]): T | undefined {
  const v = str(flags, name);
  if (v === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(v)) throw new UsageError(`--${name}: expected one of ${allowed.join(', ')}, got "${v}"`);
  return v as T;
}

/** A positive integer flag with a default (watch intervals and time limits). */
export function positive(flags: Flags, name: string, fallback: number): number {
  const v = int(flags, name);
  if (v === undefined) return fallback;
  if (v < 1) throw new UsageError(`--${name}: expected a positive integer, got "${v}"`);
  return v;
}

/** Copies defined values only. */
export function defined<T extends Record<string, unknown>>(o: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: Exclude<T[K], undefined> };
}

/** The command could not do what was asked for a reason the registry did not phrase; exit 1. */
export class CommandFailure extends Error {
  override readonly name = 'CommandFailure';
  readonly code = 'EDGECTL_FAILED';
}
