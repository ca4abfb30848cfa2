import type { FirmataPinMode, PinRef } from './board-transport.js';

/** What a board said about its pins in the handshake. */
export interface PinMap {
  pinCount: number;
  /** Pin number of each analog channel (Uno: A0..A5 are 14..19). */
  analogPins: readonly number[];
}

/** A pin resolved against a board: its pin number and, for analog inputs, its channel. */
export interface ResolvedPin {
  pin: number;
  channel: number | undefined;
  label: string;
}

const SYNTAX = /^([DA])(\d{1,3})$/i;

/** Checks the spelling of a pin (no board needed): "D2", "A0" or a number 0..127. */
export function pinSyntaxError(ref: PinRef): string | undefined {
  if (typeof ref === 'number') return Number.isInteger(ref) && ref >= 0 && ref <= 127 ? undefined : 'expected a pin number 0..127';
  const m = SYNTAX.exec(ref);
  if (!m || Number(m[2]) > 127) return 'expected "D<n>" (digital pin), "A<n>" (analog input) or a pin number';
  return undefined;
}

/**
 * Resolves a pin against the board's map: "A<n>" is analog channel n wherever the board has it
 * (its digital pin number for digital modes), "D<n>" and numbers are pin numbers. Returns an
 * error message when the board has no such pin.
 */
export function resolvePin(ref: PinRef, map: PinMap, mode: FirmataPinMode): ResolvedPin | string {
  const syntax = pinSyntaxError(ref);
  if (syntax) return `pin ${JSON.stringify(ref)}: ${syntax}`;
  const label = typeof ref === 'number' ? `pin ${ref}` : ref.toUpperCase();
  let pin: number;
  let channel: number | undefined;
  const m = typeof ref === 'string' ? SYNTAX.exec(ref) : null;
  if (m && m[1]!.toUpperCase() === 'A') {
    channel = Number(m[2]);
    const p = map.analogPins[channel];
    if (p === undefined) return `${label}: the board has ${map.analogPins.length} analog inputs (A0..A${map.analogPins.length - 1})`;
    pin = p;
  } else {
    pin = m ? Number(m[2]) : (ref as number);
    if (pin >= map.pinCount) return `${label}: the board has pins 0..${map.pinCount - 1}`;
    if (mode === 'analog-in') {
      const c = map.analogPins.indexOf(pin);
      if (c < 0) return `${label} is not an analog input (the board's analog inputs are pins ${map.analogPins.join(', ')})`;
      channel = c;
    }
  }
  return { pin, channel: mode === 'analog-in' ? channel : undefined, label };
}
