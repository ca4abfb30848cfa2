import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FirmataBoardTransport } from '@cityedge/drivers';
import { openPtyPair, SimFirmataBoard, type PtyPair } from '@cityedge/simulators';
import { quiet, tempDir } from '../support/fixtures.js';
import { BOOT_WAIT_MS, codeOf, firmataTransportSuite } from '../support/firmata-transport-suite.js';

/**
 * The transport over a real serial line, as to a USB board: socat joins two pseudo-terminals,
 * the emulated Uno's UART on one end, the transport (serialport 13, 57600 baud) on the other.
 * Unplugging closes socat: the transport's side of the pty hangs up.
 */
firmataTransportSuite('serial (socat pseudo-terminal, 57600)', async () => {
  const dir = tempDir('cityedge-firmata-pty-');
  const boardEnd = join(dir, 'board');
  const hostEnd = join(dir, 'gateway');
  let pty: PtyPair = await openPtyPair(boardEnd, hostEnd);
  const board = new SimFirmataBoard({ id: 'uno', link: { kind: 'serial', path: boardEnd }, logger: quiet });
  await board.start();
  const transport = new FirmataBoardTransport({ endpoint: { kind: 'serial', path: hostEnd, baudRate: 57600 }, handshakeTimeoutMs: BOOT_WAIT_MS, versionQueryIntervalMs: 1000, logger: quiet });
  return {
    board,
    transport,
    unplug: async () => {
      await board.detach();
      await pty.close();
    },
    replug: async () => {
      pty = await openPtyPair(boardEnd, hostEnd);
      await board.attach();
    },
    close: async () => {
      await transport.close();
      await board.stop();
      await pty.close();
    },
  };
});

describe('Firmata handshake on a serial port', () => {
  it('a port with no board behind it fails the handshake with EDGE_FIRMATA_TIMEOUT and closes the port', async () => {
    const dir = tempDir('cityedge-firmata-pty-');
    const pty = await openPtyPair(join(dir, 'nobody'), join(dir, 'gateway'));
    const transport = new FirmataBoardTransport({ endpoint: { kind: 'serial', path: join(dir, 'gateway'), baudRate: 57600 }, handshakeTimeoutMs: 1500, versionQueryIntervalMs: 300, logger: quiet });
    try {
      expect(await codeOf(transport.open())).toBe('EDGE_FIRMATA_TIMEOUT');
      expect(transport.isOpen).toBe(false);
      // closed: a second attempt opens the port again (it would fail "Cannot lock port" otherwise)
      expect(await codeOf(transport.open())).toBe('EDGE_FIRMATA_TIMEOUT');
    } finally {
      await transport.close();
      await pty.close();
    }
  });

  it('a serial device that does not exist: EDGE_FIRMATA_PORT naming it', async () => {
    const transport = new FirmataBoardTransport({ endpoint: { kind: 'serial', path: '/dev/ttyCITYEDGE-none', baudRate: 57600 }, handshakeTimeoutMs: 2000, logger: quiet });
    const err = await transport.open().catch((e: unknown) => e as Error);
    expect(await codeOf(Promise.reject(err))).toBe('EDGE_FIRMATA_PORT');
    expect((err as Error).message).toContain('/dev/ttyCITYEDGE-none');
  });
});
