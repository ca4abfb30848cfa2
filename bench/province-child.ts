import { encodeReading, encodeTelemetryMessage, RECONNECT_MAX_MS_DEFAULT } from '@cityedge/contract';
import { Backoff } from '../edge-agent/src/forward/backoff.js';
import { preciseNow } from './fleet-child.js';
import { reply, serveJsonChild, type ChildMessage } from './json-child.js';
import { ConnackError, LeanMqtt } from './lean-mqtt.js';

export const PROVINCE_FLAG = '--bench-province';

export interface ProvinceGateway {
  gatewayId: string;
  password: string;
  /** Broker URLs in the order this gateway tries them (a cluster: every node, its home node first). */
  urls: string[];
}

export interface ProvinceConnect {
  prefix: string;
  gateways: ProvinceGateway[];
  /** Each gateway waits a random 0..jitterMs before its first connect (the storm after a power cut). */
  jitterMs: number;
  /** The agent's reconnect backoff (forwarding.reconnectMinMs / reconnectMaxMs). */
  backoffMinMs: number;
  /** Gateways not connected by then are reported as such. */
  timeoutMs: number;
  /** MQTT clean session (Mosquitto, a town's agent) or persistent (the cluster's composed configurations: a quorum subscription queue per gateway). */
  cleanSession: boolean;
}

export interface ProvinceConnected {
  count: number;
  /** Per gateway connected: ms from the storm's start to its CONNACK + SUBACK. */
  readyMs: number[];
  /** Connection attempts that failed during the storm, by reason. */
  failures: Failures;
  /** Gateways connected per broker URL at the end of the storm. */
  perUrl: Record<string, number>;
}

/** Failed connection attempts by reason (`no CONNACK within 30 s`, `refused (CONNACK 5)`, `ECONNREFUSED`, ...). */
export type Failures = Record<string, number>;

export interface ProvinceTelemetry {
  /** Each gateway makes one message every intervalMs (first at a random phase). */
  intervalMs: number;
  durationMs: number;
  readings: number;
}

export interface ProvinceTelemetryDone {
  /** Messages made (a disconnected gateway keeps them, as the agent's outbox does, and sends them when back). */
  made: number;
  /** [gatewayId, seqs PUBACKed] per gateway. */
  acked: Array<[string, number[]]>;
  /** Messages published again on a new connection (not PUBACKed on the one that ended). */
  resent: number;
  /** Connections up when the phase ended. */
  connected: number;
  /** Every connection lost during the phase: [epoch ms lost, epoch ms back (CONNACK + SUBACK) or null]. */
  outages: Array<[number, number | null]>;
  /** Connection attempts that failed during the phase, by reason. */
  failures: Failures;
}

export interface ProvinceDelivered {
  /** Epoch ms each gateway first received a configuration. */
  receivedAt: Record<string, number>;
}

/** Like the agent: the backoff starts over only after a connection has lasted this long. */
const STABLE_AFTER_MS = 10_000;
const CONNECT_TIMEOUT_MS = 30_000;
const KEEPALIVE_S = 60;

/**
 * One simulated gateway: a LeanMqtt session with its own identity, config subscription and
 * telemetry sequence, and the agent's connection rule: on a lost connection (or a failed
 * attempt) the next attempt goes to the next broker URL after a fully jittered backoff
 * (edge-agent/src/forward/backoff.ts). Messages not PUBACKed stay queued, like the agent's
 * outbox, and are published again on the next connection.
 */
class SimGateway {
  client: LeanMqtt | undefined;
  seq = 0;
  readonly acked: number[] = [];
  readonly unacked = new Map<number, Buffer>();
  resent = 0;
  outages: Array<[number, number | null]> = [];
  private urlIndex = 0;
  private readonly backoff: Backoff;
  private stableTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private running = true;
  private readyOnce: (() => void) | undefined;
  readonly ready: Promise<void>;

  constructor(
    readonly g: ProvinceGateway,
    private readonly prefix: string,
    private readonly cleanSession: boolean,
    backoffMinMs: number,
    private readonly onConfig: (gatewayId: string) => void,
    /** This process's count of failed attempts, shared by its gateways. */
    private readonly failures: Failures,
  ) {
    this.backoff = new Backoff({ minMs: backoffMinMs, maxMs: RECONNECT_MAX_MS_DEFAULT, random: Math.random });
    this.ready = new Promise((resolve) => (this.readyOnce = resolve));
  }

  get id(): string {
    return this.g.gatewayId;
  }

  /** The broker URL of the connection up, if any. */
  get url(): string | undefined {
    return this.client && this.g.urls[this.urlIndex];
  }

  async connect(): Promise<void> {
    if (!this.running) return;
    const topic = `${this.prefix}/${this.id}/config`;
    let c: LeanMqtt | undefined;
    try {
      const onMessage = (t: string, payload: Buffer) => {
        if (t === topic && payload.length > 0) this.onConfig(this.id);
      };
      c = await LeanMqtt.connect({ url: this.g.urls[this.urlIndex]!, clientId: this.id, username: this.id, password: this.g.password, keepalive: KEEPALIVE_S, connectTimeoutMs: CONNECT_TIMEOUT_MS, clean: this.cleanSession, onMessage });
      c.onClose = () => this.lost(c!);
      if ((await c.subscribe(topic)) > 1) throw new Error(`SUBSCRIBE ${topic} refused`);
    } catch (err) {
      c?.end();
      this.failures[failureReason(err as Error)] = (this.failures[failureReason(err as Error)] ?? 0) + 1;
      this.retry();
      return;
    }
    if (!this.running) return c.end(undefined, true);
    this.client = c;
    const open = this.outages.at(-1);
    if (open && open[1] === null) open[1] = Date.now();
    this.stableTimer = setTimeout(() => this.backoff.reset(), STABLE_AFTER_MS);
    this.readyOnce?.();
    this.readyOnce = undefined;
    for (const [seq, payload] of this.unacked) {
      this.resent++;
      this.publish(c, seq, payload);
    }
  }

  /** Makes the next message; published now when connected, else kept for the next connection. */
  send(readings: number): void {
    const seq = ++this.seq;
    const ts = Date.now();
    const rs = Array.from({ length: readings }, (_, i) => encodeReading({ dev: `dev-${i % 5}`, pt: `p${i}`, ts, v: seq + i / 10, q: 'good' }));
    const payload = Buffer.from(encodeTelemetryMessage(this.id, seq, rs));
    this.unacked.set(seq, payload);
    if (this.client) this.publish(this.client, seq, payload);
  }

  stop(): void {
    this.running = false;
    clearTimeout(this.retryTimer);
    clearTimeout(this.stableTimer);
    this.client?.end(undefined, true);
  }

  private publish(c: LeanMqtt, seq: number, payload: Buffer): void {
    c.publish(`${this.prefix}/${this.id}/telemetry`, payload).then(
      () => {
        if (this.unacked.delete(seq)) this.acked.push(seq);
      },
      () => undefined,
    );
  }

  private lost(c: LeanMqtt): void {
    if (this.client !== c) return;
    this.client = undefined;
    this.outages.push([Date.now(), null]);
    this.retry();
  }

  /** The agent's rule: next node, fully jittered backoff. */
  private retry(): void {
    clearTimeout(this.stableTimer);
    if (!this.running) return;
    this.urlIndex = (this.urlIndex + 1) % this.g.urls.length;
    this.retryTimer = setTimeout(() => void this.connect(), this.backoff.next());
  }
}

/**
 * The child side of `bench.js --bench-province`: a slice of the province's gateways in one
 * process, each a SimGateway (lean MQTT 3.1.1 client). `{"connect"}` runs the connect storm,
 * `{"telemetry"}` the steady phase (QoS 1; every PUBACKed seq is recorded, every lost connection
 * and its return), `{"awaitConfig"}` answers once each gateway holds a configuration (or on time).
 */
export function runProvinceChild(): void {
  const gws: SimGateway[] = [];
  const failures: Failures = {};
  const receivedAt = new Map<string, number>();
  let configWaiter: (() => void) | undefined;
  const onConfig = (id: string) => {
    if (receivedAt.has(id)) return;
    receivedAt.set(id, preciseNow());
    if (receivedAt.size === gws.length) configWaiter?.();
  };

  const onMessage = async (m: ChildMessage) => {
    if ('connect' in m) {
      const r = m.connect as ProvinceConnect;
      const t0 = preciseNow();
      const readyMs: number[] = [];
      for (const g of r.gateways) {
        const gw = new SimGateway(g, r.prefix, r.cleanSession, r.backoffMinMs, onConfig, failures);
        gws.push(gw);
        void gw.ready.then(() => readyMs.push(preciseNow() - t0));
        setTimeout(() => void gw.connect(), Math.random() * r.jitterMs);
      }
      await Promise.race([Promise.all(gws.map((g) => g.ready)), sleep(r.timeoutMs)]);
      const perUrl: Record<string, number> = {};
      for (const url of gws.map((g) => g.url)) if (url) perUrl[url] = (perUrl[url] ?? 0) + 1;
      reply({ connected: { count: readyMs.length, readyMs, failures: { ...failures }, perUrl } satisfies ProvinceConnected });
      return;
    }
    if ('telemetry' in m) {
      reply({ telemetry: await steadyTelemetry(gws, failures, m.telemetry as ProvinceTelemetry) });
      return;
    }
    if ('awaitConfig' in m) {
      const { timeoutMs } = m.awaitConfig as { timeoutMs: number };
      if (receivedAt.size < gws.length) await Promise.race([new Promise<void>((resolve) => (configWaiter = resolve)), sleep(timeoutMs)]);
      reply({ delivered: { receivedAt: Object.fromEntries(receivedAt) } satisfies ProvinceDelivered });
      return;
    }
    throw new Error('expected {"connect"}, {"telemetry"} or {"awaitConfig"}');
  };

  serveJsonChild(onMessage, async () => {
    for (const g of gws) g.stop();
  });
}

/** Every gateway sends one message per interval for the phase; then what is queued gets a minute to be PUBACKed. */
async function steadyTelemetry(gws: SimGateway[], failures: Failures, r: ProvinceTelemetry): Promise<ProvinceTelemetryDone> {
  const from = Date.now();
  const before = { ...failures };
  const timers: NodeJS.Timeout[] = [];
  for (const g of gws) {
    const first = setTimeout(() => {
      g.send(r.readings);
      timers.push(setInterval(() => g.send(r.readings), r.intervalMs));
    }, Math.random() * r.intervalMs);
    timers.push(first);
  }
  await sleep(r.durationMs);
  for (const t of timers) clearTimeout(t);
  for (let waited = 0; waited < 60_000 && gws.some((g) => g.unacked.size > 0); waited += 500) await sleep(500);
  return {
    made: gws.reduce((a, g) => a + g.seq, 0),
    acked: gws.map((g) => [g.id, g.acked]),
    resent: gws.reduce((a, g) => a + g.resent, 0),
    connected: gws.filter((g) => g.client !== undefined).length,
    outages: gws.flatMap((g) => g.outages.filter(([lostAt]) => lostAt >= from)),
    failures: Object.fromEntries(Object.entries(failures).map(([k, v]) => [k, v - (before[k] ?? 0)]).filter(([, v]) => v !== 0)),
  };
}

/** A failed attempt's reason, as a short class (no gateway ids or ports, so they add up). */
function failureReason(err: Error): string {
  if (err instanceof ConnackError) return `refused (CONNACK ${err.returnCode})`;
  const code = (err as NodeJS.ErrnoException).code;
  if (code) return code;
  if (err.message.startsWith('no CONNACK')) return `no CONNACK within ${CONNECT_TIMEOUT_MS / 1000} s`;
  if (err.message.includes('closed before CONNACK')) return 'closed before CONNACK';
  if (err.message.startsWith('SUBSCRIBE')) return 'SUBSCRIBE refused';
  return `closed before SUBACK`;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
