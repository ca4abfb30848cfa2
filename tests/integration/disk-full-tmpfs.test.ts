import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayConfigInput, Reading } from '@cityedge/contract';
import { startSimulation, type Simulation } from '@cityedge/simulators';
import { AGENT_BUILD } from '../global-setup.js';
import { freePort, TestBroker } from '@cityedge/test-support';
import { TelemetryConsumer } from '../support/consumer.js';
import { quiet, tempDir, waitUntil } from '../support/fixtures.js';

const STATIONS = 7; // AQT530 x 10 points every 100 ms: 700 readings/s
const key = (r: Pick<Reading, 'dev' | 'pt' | 'ts'>) => `${r.dev}|${r.pt}|${r.ts}`;

interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

/** The agent as a real process with its JSON log lines. */
class AgentRun {
  readonly lines: LogLine[] = [];
  readonly exited: Promise<number | null>;
  private readonly proc: ChildProcess;

  constructor(configPath: string, stateDir: string) {
    this.proc = spawn(process.execPath, [AGENT_BUILD, 'run', '--config', configPath, '--state-dir', stateDir, '--log-level', 'info'], { stdio: ['ignore', 'pipe', 'inherit'] });
    createInterface({ input: this.proc.stdout! }).on('line', (line) => {
      try {
        this.lines.push(JSON.parse(line) as LogLine);
      } catch {
        // not a log line
      }
    });
    this.exited = new Promise((resolve) => this.proc.once('exit', (code) => resolve(code)));
  }

  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  async stop(): Promise<number | null> {
    if (this.running) this.proc.kill('SIGTERM');
    return this.exited;
  }

  line(msg: string): LogLine | undefined {
    return this.lines.find((l) => l.msg === msg);
  }
}


async function json(url: string): Promise<unknown> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    return await res.json();
  } catch {
    return undefined;
  }
}

async function metric(port: number, name: string, labels = ''): Promise<number | undefined> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(2000) })).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `) || (labels === '' && l.startsWith(`${name} `)));
    return line === undefined ? undefined : Number(line.split(' ').at(-1));
  } catch {
    return undefined;
  }
}

/** Keys of the readings committed in the outbox file, read by a connection of our own. */
function committedKeys(path: string): Set<string> {
  const db = new Database(path, { readonly: true });
  try {
    return new Set((db.prepare('SELECT body FROM telemetry').pluck().all() as string[]).map((b) => key(JSON.parse(b) as Reading)));
  } finally {
    db.close();
  }
}

/** One gateway whose state directory is a tmpfs of its own: a polling run, then a run without devices that sends the rest. */
class TmpfsGateway {
  readonly mnt = mkdtempSync(join(tmpdir(), 'cityedge-tmpfs-'));
  readonly outboxFile = join(this.mnt, 'outbox.db');
  readonly runs: AgentRun[] = [];
  port = 0;
  private readonly work = tempDir('cityedge-diskfull-');

  constructor(
    readonly gw: string,
    private readonly brokerUrl: string,
    private readonly simPort: number,
  ) {}

  async setup(): Promise<void> {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m,mode=0700', 'tmpfs', this.mnt]);
    this.port = await freePort();
    const config = (lines: boolean): GatewayConfigInput => ({
      gateway: { id: this.gw },
      lines: lines
        ? [
            {
              id: 'bus',
              type: 'tcp',
              host: '127.0.0.1',
              port: this.simPort,
              devices: Array.from({ length: STATIONS }, (_, i) => ({ id: `aq-${i}`, profile: 'vaisala-aqt530', unitId: i + 1, pollIntervalMs: 100 })),
            },
          ]
        : [],
      forwarding: { brokerUrl: this.brokerUrl, reconnectMinMs: 200, reconnectMaxMs: 1000 },
      http: { enabled: true, host: '127.0.0.1', port: this.port },
    });
    writeFileSync(join(this.work, 'polling.json'), JSON.stringify(config(true)));
    writeFileSync(join(this.work, 'drain.json'), JSON.stringify(config(false)));
  }

  async cleanup(): Promise<void> {
    for (const r of this.runs) await r.stop();
    try {
      execFileSync('umount', [this.mnt]);
    } catch {
      execFileSync('umount', ['-l', this.mnt]);
    }
    rmSync(this.mnt, { recursive: true, force: true });
    rmSync(this.work, { recursive: true, force: true });
  }

  /** Starts polling and returns the readings committed when the disk first filled up. */
  async pollUntilFull(): Promise<{ run: AgentRun; committedBefore: Set<string> }> {
    const run = new AgentRun(join(this.work, 'polling.json'), this.mnt);
    this.runs.push(run);
    await waitUntil(() => run.running && existsSync(this.outboxFile), 10_000, 'the agent to open its outbox');
    let full = false;
    for (let i = 0; i < 600 && !full; i++) {
      await new Promise((r) => setTimeout(r, 250));
      expect(run.running).toBe(true);
      full = (await this.outboxOk()) === false;
    }
    expect(full).toBe(true);
    const committedBefore = committedKeys(this.outboxFile);
    expect(committedBefore.size).toBeGreaterThan(5000);
    const fs = statfsSync(this.mnt);
    expect(fs.bfree * fs.bsize).toBeLessThan(256 * 1024);
    return { run, committedBefore };
  }

  outboxOk = async () => ((await json(`http://127.0.0.1:${this.port}/healthz`)) as { checks?: { outbox?: { ok: boolean } } } | undefined)?.checks?.outbox?.ok;

  metric = (name: string, labels = '') => metric(this.port, name, labels);

  /** Stops the polling run, sends what it left with a run without devices; what each run's outbox counted. */
  async finish(run: AgentRun): Promise<{ produced: number; dropped: number; nextSeq: number }> {
    expect(await run.stop()).toBe(0);
    const closed1 = run.line('outbox closed') as unknown as { appended: { telemetry: number }; dropped: { telemetry: number } };
    expect(closed1).toBeDefined();
    const drain = new AgentRun(join(this.work, 'drain.json'), this.mnt);
    this.runs.push(drain);
    await waitUntil(() => drain.lines.some((l) => l.msg === 'agent started'), 10_000, 'the draining agent to start');
    let backlog: number | undefined;
    for (let i = 0; i < 600 && backlog !== 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      backlog = await this.metric('cityedge_outbox_backlog_rows');
    }
    expect(backlog, `the draining agent said: ${JSON.stringify(drain.lines.filter((l) => l.level >= 40).slice(-10))}`).toBe(0);
    expect(await drain.stop()).toBe(0);
    const closed2 = drain.line('outbox closed') as unknown as { appended: { telemetry: number }; nextSeq: number };
    return { produced: closed1.appended.telemetry + closed2.appended.telemetry, dropped: closed1.dropped.telemetry, nextSeq: closed2.nextSeq };
  }
}

/**
 * Reliability case 14 on a real filesystem: the agent (a real process) keeps its state on a 4 MB
 * tmpfs that the outbox fills at 700 readings/s while the broker is down. A consumer counts by
 * (gw, seq): produced = delivered + counted drops, and nothing committed before the disk filled
 * is missing.
 */
describe('a full disk under the agent, on a real tmpfs', () => {
  let gatewayAdmitted = true;
  const broker = new TestBroker({
    setup: (b) => {
      b.authenticate = (client, _u, _p, done) => done(null, !client.id.startsWith('gw-') || gatewayAdmitted);
    },
  });
  let consumer: TelemetryConsumer;
  let sim: Simulation;
  const gateways: TmpfsGateway[] = [];

  beforeAll(async () => {
    await broker.start();
    sim = await startSimulation(
      { endpoints: [{ id: 'bus', transport: 'tcp', devices: Array.from({ length: STATIONS }, (_, i) => ({ id: `aq-${i}`, model: 'vaisala-aqt530' as const, unitId: i + 1 })) }] },
      { logger: quiet },
    );
  });

  afterAll(async () => {
    for (const g of gateways) await g.cleanup();
    await sim?.stop();
    await consumer?.stop();
    await broker.stop();
  });

  /** A gateway on a tmpfs of its own, and a consumer of its own (the broker is up). */
  async function gateway(gw: string): Promise<TmpfsGateway> {
    if (!broker.broker) await broker.start();
    gatewayAdmitted = true;
    await consumer?.stop();
    consumer = new TelemetryConsumer(broker.url);
    await consumer.start();
    const g = new TmpfsGateway(gw, broker.url, sim.endpoint('bus').port!);
    gateways.push(g);
    await g.setup();
    return g;
  }

  /** The broker comes back; gateways are let in once the consumer has subscribed again (a broker drops what nobody subscribed to). */
  async function brokerBack(): Promise<void> {
    gatewayAdmitted = false;
    const subscriptions = consumer.subscriptions;
    await broker.start();
    await consumer.waitFor(() => consumer.subscriptions > subscriptions, 30_000, 'the consumer to resubscribe');
    gatewayAdmitted = true;
  }

  /** What the consumer got, checked against what the gateway's outbox counted. */
  async function account(g: TmpfsGateway, committedBefore: Set<string>, totals: { produced: number; dropped: number; nextSeq: number }) {
    await consumer.waitFor(() => (consumer.seen.get(g.gw)?.size ?? 0) === totals.nextSeq - 1, 10_000, 'every message at the consumer');
    expect(consumer.gaps(g.gw)).toEqual([]);
    const delivered = new Set(consumer.readings.map(key));
    expect(delivered.size).toBe(consumer.readings.length);
    expect([...committedBefore].filter((k) => !delivered.has(k))).toEqual([]);
    const buffer = consumer.events.filter((e) => e.type.startsWith('buffer.'));
    const counted = buffer.reduce((n, e) => n + Number(e.data?.droppedTelemetry ?? 0), 0);
    expect(counted).toBe(totals.dropped);
    expect(delivered.size + counted).toBe(totals.produced);
    console.info(`${g.gw}: ${committedBefore.size} readings committed when the disk filled; produced ${totals.produced} = delivered ${delivered.size} + counted drops ${counted}`);
    return { buffer, counted };
  }

  it('disk full while the broker is down: keeps everything committed, counts every reading it could not keep, back at once when space returns', async () => {
    const g = await gateway('gw-tmpfs-1');
    await broker.stop();
    const { run, committedBefore } = await g.pollUntilFull();

    // The disk stays full until memory is full too and readings are dropped.
    let dropped = 0;
    for (let i = 0; i < 1200 && dropped === 0; i++) {
      await new Promise((r) => setTimeout(r, 250));
      expect(run.running).toBe(true);
      dropped = (await g.metric('cityedge_outbox_dropped_total', '{stream="telemetry"}')) ?? 0;
    }
    expect(dropped).toBeGreaterThan(0);
    const stillThere = committedKeys(g.outboxFile);
    expect([...committedBefore].filter((k) => !stillThere.has(k))).toEqual([]);

    // Space returns.
    execFileSync('mount', ['-o', 'remount,size=64m', g.mnt]);
    let ok = false;
    for (let i = 0; i < 200 && !ok; i++) {
      await new Promise((r) => setTimeout(r, 50));
      ok = (await g.outboxOk()) === true;
    }
    expect(ok).toBe(true);
    await waitUntil(() => run.lines.some((l) => l.msg.startsWith('outbox file writable again')), 5000, 'the log line of the recovery');
    expect(run.lines.find((l) => l.msg.startsWith('outbox file writable again'))).toMatchObject({ level: 50 });

    await brokerBack();
    const totals = await g.finish(run);
    const { buffer, counted } = await account(g, committedBefore, totals);
    expect(counted).toBeGreaterThan(0);
    expect(buffer.map((e) => e.type)).toEqual(['buffer.storage_error']);
    expect(buffer[0]).toMatchObject({ severity: 'alarm', data: { firstError: 'SQLITE_FULL', droppedEvents: 0 } });
  }, 420_000);

  it('the broker returns while the disk is still full: acknowledged rows are deleted and new readings go into the room they free', async () => {
    const g = await gateway('gw-tmpfs-2');
    await broker.stop();
    const { run, committedBefore } = await g.pollUntilFull();
    await brokerBack();
    // No more disk: deleting what the broker acknowledged must make the room.
    await consumer.waitFor(() => consumer.events.some((e) => e.type === 'buffer.storage_error'), 60_000, 'the outage to end');
    expect(statfsSync(g.mnt).blocks * statfsSync(g.mnt).bsize).toBeLessThanOrEqual(4 * 1024 * 1024);
    const before = consumer.readings.length;
    await consumer.waitFor(() => consumer.readings.length > before + 2000, 30_000, 'live readings again');
    const totals = await g.finish(run);
    const { buffer } = await account(g, committedBefore, totals);
    expect(buffer[0]).toMatchObject({ type: 'buffer.storage_error', data: { firstError: 'SQLITE_FULL' } });
  }, 420_000);
});
