import mqtt, { type MqttClient } from 'mqtt';
import { Backoff } from '../edge-agent/src/forward/backoff.js';
import { preciseNow } from './fleet-child.js';
import { reply, serveJsonChild, type ChildMessage } from './json-child.js';
import { inPool } from './pool.js';

export const STORM_FLAG = '--bench-storm';

export interface StormGateway {
  id: string;
  password?: string;
  /** 4 for aedes (MQTT 3.1.1 only), 5 for Mosquitto. */
  protocolVersion: 4 | 5;
}

export interface CapacityRequest {
  url: string;
  gateways: StormGateway[];
  /** Connections being opened at once. */
  concurrency: number;
}

export interface CapacityResult {
  connects: number;
  failures: number;
  seconds: number;
}

export interface FleetRequest {
  url: string;
  gateways: StormGateway[];
  minMs: number;
  maxMs: number;
  /** Like the agent: the backoff starts over only after a connection has lasted this long. */
  stableAfterMs: number;
}

export interface StormResult {
  /** For each gateway, ms from the broker's return to its CONNACK, ascending. */
  delaysMs: number[];
  /** Epoch ms of each CONNACK after the return. */
  connackAt: number[];
  /** Connection attempts made after the return that failed (refused, timed out). */
  failedAfter: number;
  /** Attempts of the whole outage. */
  attempts: number;
}

const connectOptions = (g: StormGateway) => ({
  clientId: g.id,
  ...(g.password !== undefined && { username: g.id, password: g.password }),
  protocolVersion: g.protocolVersion,
  reconnectPeriod: 0,
  connectTimeout: 30_000,
  keepalive: 60,
  clean: true,
});

/**
 * The child side of `bench.js --bench-storm`: many gateways in one process, each reconnecting as
 * the agent's MqttSession does (one fresh client per attempt, the agent's Backoff with full jitter,
 * reset after a stable connection). Requests: `{"capacity": CapacityRequest}` (connect every
 * gateway as fast as the broker accepts, then disconnect) answered `{"capacity": CapacityResult}`;
 * `{"fleet": FleetRequest}` answered `{"up": n}` once all are connected; `{"returned": {downAt, upAt}}`
 * (the broker is back, listening since upAt) answered `{"storm": StormResult}` once all are connected again.
 */
export function runStormChild(): void {
  let fleet: Fleet | undefined;
  const onMessage = async (m: ChildMessage) => {
    if ('capacity' in m) {
      reply({ capacity: await capacity(m.capacity as CapacityRequest) });
    } else if ('fleet' in m) {
      fleet = new Fleet(m.fleet as FleetRequest);
      reply({ up: await fleet.up() });
    } else if ('returned' in m) {
      if (!fleet) throw new Error('no fleet');
      reply({ storm: await fleet.returned(m.returned as { downAt: number; upAt: number }) });
      fleet.close();
      fleet = undefined;
    } else {
      throw new Error('expected capacity, fleet or returned');
    }
  };
  serveJsonChild(onMessage, () => {
    fleet?.close();
    return Promise.resolve();
  });
}

async function capacity(r: CapacityRequest): Promise<CapacityResult> {
  const clients: MqttClient[] = [];
  let failures = 0;
  const t0 = performance.now();
  await inPool(r.gateways, r.concurrency, async (g) => {
    try {
      clients.push(await mqtt.connectAsync(r.url, connectOptions(g), false));
    } catch {
      failures++;
    }
  });
  const seconds = (performance.now() - t0) / 1000;
  await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
  return { connects: clients.length, failures, seconds };
}

class Fleet {
  private readonly members: Member[];
  /** Epoch ms of every CONNACK and every failed attempt. */
  private readonly connackAt: number[] = [];
  private readonly failedAt: number[] = [];
  private attempts = 0;
  private closed = false;
  private waiters: Array<() => void> = [];

  constructor(private readonly r: FleetRequest) {
    this.members = r.gateways.map((g) => new Member(g, new Backoff({ minMs: r.minMs, maxMs: r.maxMs, random: Math.random })));
  }

  async up(): Promise<number> {
    await inPool(this.members, 50, (m) => {
      this.connect(m);
      return this.until(() => m.connected);
    });
    return this.members.filter((m) => m.connected).length;
  }

  /** Epoch ms when the broker went (connects since are reconnects) and when it listened again (delays count from there). */
  async returned(t: { downAt: number; upAt: number }): Promise<StormResult> {
    const back = (m: Member) => m.connected && m.lastConnectAt !== undefined && m.lastConnectAt >= t.downAt;
    await this.until(() => this.members.every(back));
    const delaysMs = this.members.map((m) => Math.max(0, (m.firstConnectSince(t.downAt) as number) - t.upAt)).sort((a, b) => a - b);
    return { delaysMs, connackAt: this.connackAt.filter((x) => x >= t.downAt).sort((a, b) => a - b), failedAfter: this.failedAt.filter((x) => x >= t.upAt).length, attempts: this.attempts };
  }

  close(): void {
    this.closed = true;
    for (const m of this.members) {
      clearTimeout(m.timer);
      clearTimeout(m.stable);
      m.client?.end(true);
    }
  }

  private until(done: () => boolean): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => {
        if (!done()) return;
        this.waiters = this.waiters.filter((w) => w !== check);
        resolve();
      };
      this.waiters.push(check);
    });
  }

  private changed(): void {
    for (const w of [...this.waiters]) w();
  }

  private connect(m: Member): void {
    if (this.closed) return;
    this.attempts++;
    const client = mqtt.connect(this.r.url, connectOptions(m.g));
    m.client = client;
    let lost = false;
    const onLost = () => {
      if (lost) return;
      lost = true;
      client.removeAllListeners();
      client.on('error', () => undefined);
      client.end(true);
      if (!m.connected) this.failedAt.push(preciseNow());
      m.connected = false;
      clearTimeout(m.stable);
      if (this.closed) return;
      m.timer = setTimeout(() => this.connect(m), m.backoff.next());
    };
    client.on('connect', () => {
      m.connected = true;
      const now = preciseNow();
      m.connects.push(now);
      m.lastConnectAt = now;
      this.connackAt.push(now);
      m.stable = setTimeout(() => m.backoff.reset(), this.r.stableAfterMs);
      this.changed();
    });
    client.on('error', onLost);
    client.on('close', onLost);
  }
}

class Member {
  connected = false;
  client?: MqttClient;
  timer?: NodeJS.Timeout;
  stable?: NodeJS.Timeout;
  lastConnectAt?: number;
  readonly connects: number[] = [];

  constructor(
    readonly g: StormGateway,
    readonly backoff: Backoff,
  ) {}

  firstConnectSince(at: number): number | undefined {
    return this.connects.find((t) => t >= at);
  }
}
