import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { builtinProfiles, createCatalog, resolveGatewayConfig, type FirmataLineConfig, type GatewayEvent, type Reading, type ResolvedFirmataLine } from '@cityedge/contract';
import { createBoardTransport, FirmataBoardTransport, FirmataError } from '@cityedge/drivers';
import { SimFirmataBoard } from '@cityedge/simulators';
import { runtimeProblems } from '../poll/runtime-problems.js';
import { FirmataLine } from './firmata-line.js';

/**
 * The line's logic against the real StandardFirmata firmware in the AVR emulator, reached over
 * TCP as a network board (no socat needed). One board boots for the whole file: the emulator runs
 * near real time and burns a core, so the scenarios share it. Waits are generous (the emulator
 * slows down on a loaded machine); nothing asserts on time.
 */
const quiet = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const BOOT_MS = 90_000;
const WAIT_MS = 30_000;

class Sink {
  readings: Reading[] = [];
  events: GatewayEvent[] = [];
  appendReadings(r: Reading[]) {
    this.readings.push(...r);
  }
  appendEvent(e: GatewayEvent) {
    this.events.push(e);
  }
  latest(dev: string, pt: string): Reading | undefined {
    return this.readings.findLast((r) => r.dev === dev && r.pt === pt);
  }
}

async function until(what: string, check: () => boolean, ms = WAIT_MS): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * The link to a board that is still booting: it accepts the agent's connection and drops what the
 * agent sends (counting its version queries, 0xF9) until release(), then joins each connection to
 * the board. Never released, it is a board that never completes its handshake.
 */
class BootingLink {
  versionQueries = 0;
  private readonly server = net.createServer((s) => this.accept(s));
  private readonly held = new Set<net.Socket>();
  private readonly all = new Set<net.Socket>();
  private board: { host: string; port: number } | undefined;

  async listen(): Promise<number> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    return (this.server.address() as net.AddressInfo).port;
  }

  /** The board has booted: it hears the agent from now on. */
  release(board: { host: string; port: number }): void {
    this.board = board;
    for (const s of this.held) this.join(s);
    this.held.clear();
  }

  async close(): Promise<void> {
    for (const s of this.all) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  private accept(s: net.Socket): void {
    this.all.add(s);
    s.on('close', () => {
      this.all.delete(s);
      this.held.delete(s);
    });
    s.on('error', () => undefined);
    if (this.board) return this.join(s);
    this.held.add(s);
    s.on('data', (chunk: Buffer) => {
      if (this.held.has(s)) this.versionQueries += chunk.filter((b) => b === 0xf9).length;
    });
  }

  private join(s: net.Socket): void {
    const up = net.connect(this.board!.port, this.board!.host);
    this.all.add(up);
    up.on('error', () => undefined);
    up.on('close', () => s.destroy());
    s.on('close', () => up.destroy());
    s.on('data', (chunk: Buffer) => up.write(chunk));
    up.on('data', (chunk: Buffer) => s.write(chunk));
  }
}

describe('FirmataLine against StandardFirmata in the emulator (network board)', () => {
  let board: SimFirmataBoard;
  let line: FirmataLine;
  let cfg: ResolvedFirmataLine<FirmataLineConfig>;
  const sink = new Sink();

  beforeAll(async () => {
    board = new SimFirmataBoard({ id: 'uno', link: { kind: 'tcp', host: '127.0.0.1', port: 0 }, logger: quiet });
    await board.start();
    board.setDigital('D2', true); // float switch open (pulled up)
    board.setDigital('D3', true); // rain gauge reed switch open
    board.setAnalog('A0', 2.5);
    const { host, port } = board.info() as { host: string; port: number };
    const r = resolveGatewayConfig(
      {
        gateway: { id: 'gw-test' },
        forwarding: { brokerUrl: 'mqtt://127.0.0.1:1' },
        lines: [
          {
            id: 'uno-1',
            type: 'firmata',
            host,
            port,
            pollIntervalMs: 500,
            handshakeTimeoutMs: BOOT_MS,
            timeoutMs: 3000,
            quarantineAfter: 2,
            maxBackoffMs: 2000,
            devices: [
              {
                id: 'station',
                points: [
                  { name: 'float_high', pin: 'D2', mode: 'digital-in', pullUp: true, invert: true },
                  { name: 'rain', pin: 'D3', mode: 'pulse-counter', pullUp: true, invert: true, scale: 0.2, unit: 'mm' },
                  { name: 'light', pin: 'A0', mode: 'analog-in', scale: 0.1, offset: -1, unit: 'klx', range: { min: -1, max: 100 } },
                  { name: 'siren', pin: 'D7', mode: 'digital-out' },
                  { name: 'beacon', pin: 'D8', mode: 'digital-out', invert: true, initial: false },
                ],
              },
              { id: 'miswired', points: [{ name: 'contact', pin: 'D0', mode: 'digital-in' }, { name: 'level', pin: 'A1', mode: 'analog-in' }] },
            ],
          },
        ],
      },
      createCatalog(builtinProfiles),
    );
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    cfg = r.value.firmataLines[0]!;
    line = new FirmataLine({ line: cfg, transport: createBoardTransport(cfg.config, { logger: quiet }), sink, logger: quiet, random: () => 0.5 });
    line.start();
    await until('the first good readings of both devices', () => sink.latest('station', 'light')?.q === 'good' && sink.latest('miswired', 'level')?.q === 'good', BOOT_MS);
  }, BOOT_MS + 10_000);

  afterAll(async () => {
    await line?.stop();
    await board?.stop();
  });

  it('publishes every point with scaling, inversion and quality; a pin the board cannot do is bad for that point only', async () => {
    expect(sink.latest('station', 'float_high')).toMatchObject({ v: false, q: 'good' });
    expect(sink.latest('station', 'light')).toMatchObject({ v: 50.2, q: 'good', u: 'klx' }); // 512 * 0.1 - 1
    expect(sink.latest('station', 'siren')).toMatchObject({ v: false, q: 'good' });
    // an inverted output, initially off, drives its pin high
    expect(sink.latest('station', 'beacon')).toMatchObject({ v: false, q: 'good' });
    expect(board.level('D8')).toBe('high');
    expect(sink.latest('miswired', 'contact')).toMatchObject({ v: null, q: 'bad', err: 'EDGE_FIRMATA_PIN' });
    expect(sink.latest('miswired', 'level')).toMatchObject({ q: 'good' });
    const stats = line.stats();
    expect(stats.connected).toBe(true);
    expect(stats.board?.firmware).toContain('StandardFirmata');
    expect(stats.devices.find((d) => d.id === 'miswired')).toMatchObject({ lastError: 'EDGE_FIRMATA_PIN', pinProblems: { contact: expect.stringContaining('D0 cannot be digital-in') } });

    board.setDigital('D2', false); // water reaches the float
    board.setAnalog('A0', 5);
    await until('the float switch and the light level', () => sink.latest('station', 'float_high')?.v === true && sink.latest('station', 'light')?.q === 'bad');
    expect(sink.latest('station', 'light')).toMatchObject({ v: null, err: 'EDGE_VALUE_RANGE' }); // 1023 * 0.1 - 1 > 100
  });

  it('sums rain gauge pulses across readings: each reading carries the pulses since the previous one', async () => {
    const from = sink.readings.length;
    await board.pulse('D3', { count: 4, widthMs: 30, periodMs: 100 });
    await until('four tips published', () => total(sink.readings.slice(from)) >= 0.8);
    await new Promise((r) => setTimeout(r, 1500));
    expect(total(sink.readings.slice(from))).toBe(0.8);
    function total(rs: Reading[]) {
      return Number(rs.filter((r) => r.dev === 'station' && r.pt === 'rain' && r.q === 'good').reduce((s, r) => s + (r.v as number), 0).toFixed(6));
    }
  });

  it('writes an output, reads it back, and refuses what cannot be written', async () => {
    await line.write('station', 'siren', true);
    expect(board.level('D7')).toBe('high');
    await line.write('station', 'beacon', true);
    expect(board.level('D8')).toBe('low');
    await until('the siren read back on', () => sink.latest('station', 'siren')?.v === true && sink.latest('station', 'beacon')?.v === true);
    await expect(line.write('station', 'light', true)).rejects.toThrow(/not writable/);
    await expect(line.write('station', 'nope', true)).rejects.toThrow(/no point "nope"/);
    await expect(line.write('station', 'siren', 2)).rejects.toThrow(/true\/false/);
  });

  it('the board loses power and its link: bad readings (never 0), device.offline, reconnection, device.online, outputs driven again', async () => {
    const from = sink.readings.length;
    const fromEvent = sink.events.length;
    const since = () => sink.events.slice(fromEvent).filter((e) => e.dev === 'station').map((e) => e.type);
    await board.detach({ powerOff: true });
    await until('device.offline', () => since().includes('device.offline'));
    const bad = sink.readings.slice(from).filter((r) => r.dev === 'station' && r.q === 'bad');
    expect(bad.length).toBeGreaterThan(0);
    expect(bad.every((r) => r.v === null && r.err === 'EDGE_FIRMATA_PORT')).toBe(true);
    expect(line.stats().connected).toBe(false);
    await expect(line.write('station', 'siren', true)).rejects.toBeInstanceOf(FirmataError);

    board.setDigital('D2', true);
    board.setDigital('D3', true);
    board.setAnalog('A0', 1);
    await board.attach();
    await until('device.online', () => since().includes('device.online'), BOOT_MS);
    expect(since()).toEqual(['device.offline', 'device.online']);
    await until('good readings again', () => sink.latest('station', 'light')?.q === 'good' && sink.latest('station', 'siren')?.q === 'good');
    // the siren was on when the board went away: it is on again, the beacon too
    expect(board.level('D7')).toBe('high');
    expect(board.level('D8')).toBe('low');
    expect(sink.latest('station', 'siren')?.v).toBe(true);
    expect(line.stats().reconnects).toBeGreaterThanOrEqual(1);
  }, BOOT_MS + WAIT_MS);

  it('a board still booting: its devices are starting, not failing, until it answers; then no device ever failed', async () => {
    await line.stop(); // the board takes one host at a time
    const link = new BootingLink();
    const booting = new Sink();
    const transport = new FirmataBoardTransport({ endpoint: { kind: 'tcp', host: '127.0.0.1', port: await link.listen() }, handshakeTimeoutMs: BOOT_MS, versionQueryIntervalMs: 100, logger: quiet });
    const second = new FirmataLine({ line: cfg, transport, sink: booting, logger: quiet, random: () => 0.5 });
    try {
      second.start();
      // Fifteen version queries unanswered (100 ms apart): the handshake has outlasted quarantineAfter (2) poll intervals of 500 ms.
      await until('the agent asking the booting board for its version', () => link.versionQueries >= 15, BOOT_MS);
      const during = second.stats();
      expect(during).toMatchObject({ starting: true, connected: false, openError: undefined });
      expect(during.devices.map((d) => d.polls)).toEqual([0, 0]);
      expect(runtimeProblems([during])).toEqual({ lines: [], devices: [] });
      expect(booting.readings).toEqual([]);
      expect(booting.events).toEqual([]);

      link.release(board.info() as { host: string; port: number });
      await until('the first good readings after the boot', () => booting.latest('station', 'light')?.q === 'good' && booting.latest('miswired', 'level')?.q === 'good', BOOT_MS);
      const after = second.stats();
      expect(after.starting).toBe(false);
      expect(after.devices.map((d) => d.failures)).toEqual([0, 0]);
      expect(runtimeProblems([after])).toEqual({ lines: [], devices: [] });
      expect(booting.events.filter((e) => e.type === 'device.offline')).toEqual([]);
    } finally {
      await second.stop();
      await link.close();
    }
  }, 2 * BOOT_MS + WAIT_MS);
});

describe('FirmataLine with a board that never completes its handshake', () => {
  it('shows no problem during the handshake, then the line and its devices (never answered) with EDGE_FIRMATA_TIMEOUT', async () => {
    const link = new BootingLink();
    const port = await link.listen();
    const r = resolveGatewayConfig(
      {
        gateway: { id: 'gw-test' },
        forwarding: { brokerUrl: 'mqtt://127.0.0.1:1' },
        lines: [{ id: 'mute', type: 'firmata', host: '127.0.0.1', port, pollIntervalMs: 100, handshakeTimeoutMs: 3000, quarantineAfter: 2, devices: [{ id: 'post', points: [{ name: 'siren', pin: 'D7', mode: 'digital-out' }] }] }],
      },
      createCatalog(builtinProfiles),
    );
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    const cfg = r.value.firmataLines[0]!;
    const sink = new Sink();
    const transport = new FirmataBoardTransport({ endpoint: { kind: 'tcp', host: '127.0.0.1', port }, handshakeTimeoutMs: cfg.config.handshakeTimeoutMs, versionQueryIntervalMs: 100, logger: quiet });
    const line = new FirmataLine({ line: cfg, transport, sink, logger: quiet, random: () => 0.5 });
    try {
      line.start();
      await until('the agent asking for the version three times', () => link.versionQueries >= 3);
      const during = line.stats();
      expect(during).toMatchObject({ starting: true, openError: undefined });
      expect(runtimeProblems([during])).toEqual({ lines: [], devices: [] });
      expect(sink.readings).toEqual([]);

      await until('the device reported as never answered', () => runtimeProblems([line.stats()]).devices.length > 0);
      const p = runtimeProblems([line.stats()]);
      expect(p.lines).toEqual([expect.objectContaining({ line: 'mute', code: 'EDGE_FIRMATA_TIMEOUT' })]);
      expect(p.devices).toEqual([expect.objectContaining({ dev: 'post', line: 'mute', state: 'never-answered', code: 'EDGE_FIRMATA_TIMEOUT' })]);
      expect(p.devices[0]!.message).toMatch(/^never answered \(\d+ polls?, EDGE_FIRMATA_TIMEOUT: line mute cannot be opened\)$/);
      expect(sink.latest('post', 'siren')).toMatchObject({ v: null, q: 'bad', err: 'EDGE_FIRMATA_TIMEOUT' });
      expect(line.stats().starting).toBe(false);
    } finally {
      await line.stop();
      await link.close();
    }
  }, WAIT_MS);
});
