import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { FirmataBoardTransport } from '@cityedge/drivers';
import { SimFirmataBoard } from '@cityedge/simulators';
import { quiet, waitUntil } from '../support/fixtures.js';
import { BOOT_WAIT_MS, codeOf, firmataTransportSuite } from '../support/firmata-transport-suite.js';

/** A network board (StandardFirmataEthernet, or a serial board behind ser2net): the transport over a TCP socket. */
firmataTransportSuite('TCP (network board)', async () => {
  const board = new SimFirmataBoard({ id: 'uno', link: { kind: 'tcp', host: '127.0.0.1', port: 0 }, logger: quiet });
  await board.start();
  const { host, port } = board.info() as { host: string; port: number };
  const transport = new FirmataBoardTransport({ endpoint: { kind: 'tcp', host, port }, handshakeTimeoutMs: BOOT_WAIT_MS, versionQueryIntervalMs: 1000, logger: quiet });
  return {
    board,
    transport,
    unplug: () => board.detach(),
    replug: () => board.attach(),
    close: async () => {
      await transport.close();
      await board.stop();
    },
  };
});

describe('Firmata handshake', () => {
  it('a socket that accepts but never speaks Firmata fails the handshake with EDGE_FIRMATA_TIMEOUT and leaves nothing open', async () => {
    const sockets = new Set<net.Socket>();
    const closed = new Set<net.Socket>();
    const server = net.createServer((s) => {
      sockets.add(s);
      s.on('close', () => closed.add(s));
      s.resume();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const { port } = server.address() as net.AddressInfo;
    const transport = new FirmataBoardTransport({ endpoint: { kind: 'tcp', host: '127.0.0.1', port }, handshakeTimeoutMs: 800, versionQueryIntervalMs: 200, logger: quiet });
    try {
      expect(await codeOf(transport.open())).toBe('EDGE_FIRMATA_TIMEOUT');
      expect(transport.isOpen).toBe(false);
      expect(sockets.size).toBe(1);
      await waitUntil(() => closed.size === sockets.size, 5000, 'the socket closed by the transport');
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('nothing listening: EDGE_FIRMATA_PORT', async () => {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const { port } = server.address() as net.AddressInfo;
    await new Promise<void>((r) => server.close(() => r()));
    const transport = new FirmataBoardTransport({ endpoint: { kind: 'tcp', host: '127.0.0.1', port }, handshakeTimeoutMs: 2000, logger: quiet });
    expect(await codeOf(transport.open())).toBe('EDGE_FIRMATA_PORT');
  });
});

describe('Firmata transport close', () => {
  it('close() during a handshake ends it at once with EDGE_FIRMATA_PORT', async () => {
    const sockets = new Set<net.Socket>();
    const server = net.createServer((s) => sockets.add(s.resume()));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const { port } = server.address() as net.AddressInfo;
    const transport = new FirmataBoardTransport({ endpoint: { kind: 'tcp', host: '127.0.0.1', port }, handshakeTimeoutMs: 60_000, logger: quiet });
    try {
      const opening = codeOf(transport.open());
      await new Promise((r) => setTimeout(r, 200));
      await transport.close();
      expect(await opening).toBe('EDGE_FIRMATA_PORT');
      expect(transport.isOpen).toBe(false);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
