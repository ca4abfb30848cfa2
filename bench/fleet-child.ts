import mqtt, { type MqttClient } from 'mqtt';
import { verifySignedConfig } from '@cityedge/contract';
import { inPool } from './pool.js';
import type { Enrolled } from './registry-api.js';
import { reply, serveJsonChild, type ChildMessage } from './json-child.js';

export const FLEET_FLAG = '--bench-fleet';

export interface FleetConnectRequest {
  url: string;
  prefix: string;
  /** The registry's config-signing key, as gateways get it at enrollment. */
  publicKeyPem: string;
  gateways: Enrolled[];
  concurrency: number;
}

export interface FleetConnected {
  count: number;
  seconds: number;
}

export interface FleetDelivered {
  /** Epoch ms (sub-ms precision, comparable across processes on this machine) each gateway first received its config. */
  receivedAt: Record<string, number>;
  verified: number;
  failures: string[];
}

/** Epoch milliseconds with the precision of performance.now(). */
export const preciseNow = (): number => performance.timeOrigin + performance.now();

/**
 * The child side of `bench.js --bench-fleet`: many lightweight gateways in one process, each an
 * MQTT 5 client with its own credentials (client id = gateway id, as Mosquitto's dynamic
 * security requires) subscribed to its own config topic. Request `{"connect": FleetConnectRequest}`,
 * answered `{"connected": FleetConnected}`; once every gateway has received a configuration the
 * child verifies every signature and sends `{"delivered": FleetDelivered}` by itself.
 */
export function runFleetChild(): void {
  const clients: MqttClient[] = [];
  const receivedAt = new Map<string, number>();
  const payloads = new Map<string, Buffer>();
  let request: FleetConnectRequest | undefined;
  let reported = false;

  const finish = () => {
    if (!request || reported || receivedAt.size < request.gateways.length) return;
    reported = true;
    const failures: string[] = [];
    let verified = 0;
    for (const [gw, payload] of payloads) {
      try {
        verifySignedConfig(JSON.parse(payload.toString('utf8')), { gatewayId: gw, publicKeysPem: [request.publicKeyPem], minVersion: 0 });
        verified++;
      } catch (err) {
        if (failures.length < 5) failures.push(`${gw}: ${(err as Error).message}`);
      }
    }
    const delivered: FleetDelivered = { receivedAt: Object.fromEntries(receivedAt), verified, failures };
    reply({ delivered });
  };

  const onMessage = async (m: ChildMessage) => {
    if (!('connect' in m)) throw new Error('expected {"connect": ...}');
    const r = m.connect as FleetConnectRequest;
    request = r;
    const t0 = performance.now();
    await inPool(r.gateways, r.concurrency, async (g) => {
      const topic = `${r.prefix}/${g.gatewayId}/config`;
      const c = await mqtt.connectAsync(r.url, { username: g.gatewayId, password: g.password, clientId: g.gatewayId, protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 30_000, keepalive: 120 }, false);
      clients.push(c);
      c.on('message', (t, payload) => {
        if (t !== topic || receivedAt.has(g.gatewayId) || payload.length === 0) return;
        receivedAt.set(g.gatewayId, preciseNow());
        payloads.set(g.gatewayId, payload);
        finish();
      });
      const granted = await c.subscribeAsync(topic, { qos: 1 });
      const qos = granted[0]?.qos ?? 128;
      if (qos >= 128) throw new Error(`${g.gatewayId}: subscription to its own config topic refused (reason ${qos})`);
    });
    const connected: FleetConnected = { count: clients.length, seconds: (performance.now() - t0) / 1000 };
    reply({ connected });
  };

  serveJsonChild(onMessage, async () => {
    await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
  });
}
