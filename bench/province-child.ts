import mqtt, { type MqttClient } from 'mqtt';
import { encodeReading, encodeTelemetryMessage } from '@cityedge/contract';
import { preciseNow } from './fleet-child.js';
import { inPool } from './pool.js';
import type { Enrolled } from './registry-api.js';
import { reply, serveJsonChild, type ChildMessage } from './json-child.js';

export const PROVINCE_FLAG = '--bench-province';

export interface ProvinceConnect {
  url: string;
  prefix: string;
  gateways: Enrolled[];
  /** Each gateway waits a random 0..jitterMs before its first connect (the storm after a power cut). */
  jitterMs: number;
  /** Connects in flight at once in this process. */
  concurrency: number;
}

export interface ProvinceConnected {
  count: number;
  /** Per gateway: ms from the storm's start to its CONNACK + SUBACK. */
  readyMs: number[];
}

export interface ProvinceTelemetry {
  /** Each gateway sends one message every intervalMs (first at a random phase). */
  intervalMs: number;
  durationMs: number;
  readings: number;
}

export interface ProvinceTelemetryDone {
  sent: number;
  /** [gatewayId, seqs PUBACKed] per gateway. */
  acked: Array<[string, number[]]>;
  /** Connections up when the phase ended, and (re)connects seen during it. */
  connected: number;
  reconnects: number;
}

export interface ProvinceDelivered {
  /** Epoch ms each gateway first received a configuration. */
  receivedAt: Record<string, number>;
}

interface Gw {
  id: string;
  client: MqttClient;
  seq: number;
  acked: number[];
}

/**
 * The child side of `bench.js --bench-province`: a slice of the province's gateways in one
 * process, each a real MQTT 5 client (MQTT.js) with its own enrolled identity, its own config
 * subscription and its own telemetry sequence. `{"connect"}` runs the connect storm,
 * `{"telemetry"}` the steady phase (QoS 1; every PUBACKed seq is recorded), and once each of its
 * gateways holds a configuration the child sends `{"delivered"}` by itself.
 */
export function runProvinceChild(): void {
  const gws: Gw[] = [];
  const receivedAt = new Map<string, number>();
  let expected = 0;
  let reconnects = 0;
  let reported = false;

  const onMessage = async (m: ChildMessage) => {
    if ('connect' in m) {
      const r = m.connect as ProvinceConnect;
      expected = r.gateways.length;
      const t0 = preciseNow();
      const readyMs: number[] = [];
      const order = r.gateways.map((g) => ({ g, at: Math.random() * r.jitterMs })).sort((a, b) => a.at - b.at);
      await inPool(order, r.concurrency, async ({ g, at }) => {
        const wait = t0 + at - preciseNow();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        const topic = `${r.prefix}/${g.gatewayId}/config`;
        const client = await mqtt.connectAsync(r.url, { username: g.gatewayId, password: g.password, clientId: g.gatewayId, protocolVersion: 5, reconnectPeriod: 2000, connectTimeout: 60_000, keepalive: 120 }, false);
        client.on('error', () => undefined);
        client.on('connect', () => reconnects++);
        client.on('message', (t, payload) => {
          if (t !== topic || payload.length === 0 || receivedAt.has(g.gatewayId)) return;
          receivedAt.set(g.gatewayId, preciseNow());
          if (!reported && receivedAt.size === expected) {
            reported = true;
            reply({ delivered: { receivedAt: Object.fromEntries(receivedAt) } satisfies ProvinceDelivered });
          }
        });
        await client.subscribeAsync(topic, { qos: 1 });
        readyMs.push(preciseNow() - t0);
        gws.push({ id: g.gatewayId, client, seq: 0, acked: [] });
      });
      reconnects = 0;
      reply({ connected: { count: gws.length, readyMs } satisfies ProvinceConnected });
      return;
    }
    if ('telemetry' in m) {
      const r = m.telemetry as ProvinceTelemetry;
      const prefix = 'edge/v1';
      const end = preciseNow() + r.durationMs;
      let sent = 0;
      const inFlight = new Set<Promise<void>>();
      const timers: NodeJS.Timeout[] = [];
      const send = (g: Gw) => {
        if (!g.client.connected) return;
        const seq = ++g.seq;
        const ts = Date.now();
        const readings = Array.from({ length: r.readings }, (_, i) => encodeReading({ dev: `dev-${i % 5}`, pt: `p${i}`, ts, v: seq + i / 10, q: 'good' }));
        sent++;
        const p = g.client
          .publishAsync(`${prefix}/${g.id}/telemetry`, encodeTelemetryMessage(g.id, seq, readings), { qos: 1 })
          .then(() => void g.acked.push(seq))
          .catch(() => undefined)
          .finally(() => inFlight.delete(p));
        inFlight.add(p);
      };
      await new Promise<void>((resolve) => {
        for (const g of gws) {
          const start = setTimeout(() => {
            send(g);
            const t = setInterval(() => send(g), r.intervalMs);
            timers.push(t);
          }, Math.random() * r.intervalMs);
          timers.push(start);
        }
        setTimeout(resolve, Math.max(0, end - preciseNow()));
      });
      for (const t of timers) clearTimeout(t);
      // What is still in flight gets its PUBACK (or its connection's end) within a generous bound.
      await Promise.race([Promise.all(inFlight), new Promise((resolve) => setTimeout(resolve, 60_000))]);
      const done: ProvinceTelemetryDone = { sent, acked: gws.map((g) => [g.id, g.acked]), connected: gws.filter((g) => g.client.connected).length, reconnects };
      reply({ telemetry: done });
      return;
    }
    throw new Error('expected {"connect"} or {"telemetry"}');
  };

  serveJsonChild(onMessage, async () => {
    await Promise.all(gws.map((g) => g.client.endAsync(true).catch(() => undefined)));
  });
}
