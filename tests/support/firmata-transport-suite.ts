import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FirmataError, type BoardTransport, type FirmataErrorCode } from '@cityedge/drivers';
import type { SimFirmataBoard } from '@cityedge/simulators';
import { waitUntil } from './fixtures.js';

/**
 * One behavioural contract for the Firmata board transport, run against the real StandardFirmata
 * firmware in the AVR emulator on each wire it supports (a TCP socket, as to a network board, in
 * `npm test`; a socat pseudo-terminal, as to a USB board, in the integration suite). One board
 * boots per suite (about 2 s of board time): the emulator runs near real time and burns a core.
 *
 * Waits are generous because the emulator's speed depends on the machine's load; nothing here
 * asserts on time.
 */
export interface BoardUnderTest {
  board: SimFirmataBoard;
  transport: BoardTransport;
  /** Takes the board's link away (USB unplugged, socket server gone). */
  unplug(): Promise<void>;
  /** Brings it back at the same place. */
  replug(): Promise<void>;
  close(): Promise<void>;
}

/** Long enough for a board booting at a fraction of real time on a loaded machine. */
export const BOOT_WAIT_MS = 60_000;
const WAIT_MS = 30_000;

export async function codeOf(p: Promise<unknown> | (() => unknown)): Promise<FirmataErrorCode | string> {
  try {
    const v = typeof p === 'function' ? p() : await p;
    return `value ${JSON.stringify(v)}`;
  } catch (e) {
    return e instanceof FirmataError ? e.code : `not a FirmataError: ${String(e)}`;
  }
}

export function firmataTransportSuite(name: string, start: () => Promise<BoardUnderTest>): void {
  describe(`Firmata board transport: ${name}`, () => {
    let t: BoardUnderTest;
    let io: BoardTransport;
    const timeoutMs = 5000;

    beforeAll(async () => {
      t = await start();
      io = t.transport;
      await io.open();
    }, BOOT_WAIT_MS * 2);
    afterAll(async () => {
      await t?.close();
    });

    it('completes the handshake and knows the board: firmware, pins, analog inputs', () => {
      expect(io.isOpen).toBe(true);
      expect(io.info).toMatchObject({ firmware: expect.stringContaining('StandardFirmata'), protocol: '2.4', pinCount: 20, analogPins: [14, 15, 16, 17, 18, 19] });
    });

    it('reports a digital input (a float switch with its pull-up) and leaves the pull-up alone when an output of the same port is written', async () => {
      io.setupPin({ pin: 'D2', mode: 'digital-in', pullUp: true });
      io.setupPin({ pin: 'D5', mode: 'digital-in' });
      io.setupPin({ pin: 'D4', mode: 'digital-out' });
      await waitUntil(() => t.board.level('D2') === 'input-pullup', WAIT_MS, 'the pull-up of D2');
      t.board.setDigital('D2', false);
      t.board.setDigital('D5', true);
      await waitUntil(() => io.digitalValue('D2')?.value === 0 && io.digitalValue('D5')?.value === 1, WAIT_MS, 'D2 low and D5 high reported');
      t.board.setDigital('D2', true);
      await waitUntil(() => io.digitalValue('D2')?.value === 1, WAIT_MS, 'D2 high reported');
      // D5 reads high without a pull-up: firmata-io alone would write that 1 back and enable it.
      expect(await io.digitalWrite('D4', true, timeoutMs)).toBe(true);
      expect(t.board.level('D5')).toBe('input');
      expect(t.board.level('D2')).toBe('input-pullup');
      expect(await io.digitalWrite('D4', false, timeoutMs)).toBe(false);
      expect(t.board.level('D5')).toBe('input');
    });

    it('reports an analog input in raw counts of the voltage on the pin', async () => {
      io.setupPin({ pin: 'A0', mode: 'analog-in' });
      t.board.setAnalog('A0', 2.5);
      await waitUntil(() => io.analogValue('A0')?.value === 512, WAIT_MS, 'A0 at 512 (2.5 V of 5 V)');
      t.board.setAnalog('A0', 1.25);
      await waitUntil(() => io.analogValue('A0')?.value === 256, WAIT_MS, 'A0 at 256');
      expect(io.analogValue(14)?.value).toBe(256);
    });

    it('drives a digital output (a siren relay) and reads its state back from the board', async () => {
      io.setupPin({ pin: 'D7', mode: 'digital-out' });
      expect(await io.digitalWrite('D7', true, timeoutMs)).toBe(true);
      expect(t.board.level('D7')).toBe('high');
      expect(await io.queryPinState('D7', timeoutMs)).toBe(1);
      expect(await io.digitalWrite('D7', false, timeoutMs)).toBe(false);
      expect(t.board.level('D7')).toBe('low');
      expect(t.board.history('D7').map((c) => c.level)).toEqual(['low', 'high', 'low']);
    });

    it('counts pulses on an input (a rain gauge reed switch) from the digital reports', async () => {
      io.setupPin({ pin: 'D3', mode: 'pulse-counter', pullUp: true });
      t.board.setDigital('D3', true);
      await waitUntil(() => io.digitalValue('D3')?.value === 1, WAIT_MS, 'D3 idle high');
      const before = io.pulseCount('D3');
      await t.board.pulse('D3', { count: 5, widthMs: 40, periodMs: 120 });
      await waitUntil(() => io.pulseCount('D3').rising - before.rising === 5, WAIT_MS, '5 pulses counted (back to idle)');
      expect(io.pulseCount('D3').falling - before.falling).toBe(5);
    });

    it('refuses a pin the board cannot use for the mode (EDGE_FIRMATA_PIN), and keeps working', async () => {
      expect(await codeOf(() => io.setupPin({ pin: 'D0', mode: 'digital-in' }))).toBe('EDGE_FIRMATA_PIN');
      expect(await codeOf(() => io.setupPin({ pin: 'D9', mode: 'analog-in' }))).toBe('EDGE_FIRMATA_PIN');
      expect(await codeOf(() => io.setupPin({ pin: 'A6', mode: 'analog-in' }))).toBe('EDGE_FIRMATA_PIN');
      expect(await codeOf(() => io.setupPin({ pin: 'D30', mode: 'digital-out' }))).toBe('EDGE_FIRMATA_PIN');
      expect(await io.ping(timeoutMs)).toBeGreaterThan(0);
    });

    it('a hung board: queries time out (EDGE_FIRMATA_TIMEOUT); it answers again when it resumes', async () => {
      t.board.setHung(true);
      try {
        expect(await codeOf(io.ping(500))).toBe('EDGE_FIRMATA_TIMEOUT');
        expect(io.isOpen).toBe(true);
      } finally {
        t.board.setHung(false);
      }
      expect(await io.ping(timeoutMs)).toBeGreaterThan(0);
    });

    it('the port goes away: the loss is reported, calls fail with EDGE_FIRMATA_PORT, and it opens again when the board is back', async () => {
      const lost: FirmataError[] = [];
      const off = io.onLost((e) => lost.push(e));
      await t.unplug();
      // Reported by the port itself, or found by the next call (a pty's hang-up is not always signalled).
      expect(await codeOf(io.ping(timeoutMs))).toBe('EDGE_FIRMATA_PORT');
      await waitUntil(() => lost.length > 0, WAIT_MS, 'the loss reported');
      off();
      expect(lost.map((e) => e.code)).toEqual(['EDGE_FIRMATA_PORT']);
      expect(io.isOpen).toBe(false);
      expect(await codeOf(io.ping(timeoutMs))).toBe('EDGE_FIRMATA_PORT');
      expect(await codeOf(io.open())).toBe('EDGE_FIRMATA_PORT');
      await t.replug();
      await io.open();
      io.setupPin({ pin: 'A1', mode: 'analog-in' });
      t.board.setAnalog('A1', 5);
      await waitUntil(() => io.analogValue('A1')?.value === 1023, WAIT_MS, 'A1 reported after reopening');
    });
  });
}
