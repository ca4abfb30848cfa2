import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { BrokerAuditEvent, GatewayCredentialStore } from '../ports.js';

/** Helpers for the broker and ingest tests: real MQTT.js clients over loopback sockets. */

export { quiet } from '@cityedge/test-support';

/** Gateway passwords in a map; `revoke` stands for decommissioning. */
export class MemoryCredentials implements GatewayCredentialStore {
  readonly passwords = new Map<string, string>();
  calls = 0;

  constructor(entries: Record<string, string> = {}) {
    for (const [k, v] of Object.entries(entries)) this.passwords.set(k, v);
  }

  async verifyGatewayPassword(gatewayId: string, password: string): Promise<boolean> {
    this.calls++;
    return this.passwords.get(gatewayId) === password;
  }
}

export class AuditLog {
  readonly events: BrokerAuditEvent[] = [];
  readonly sink = (e: BrokerAuditEvent): void => {
    this.events.push(e);
  };
  of(action: BrokerAuditEvent['action']): BrokerAuditEvent[] {
    return this.events.filter((e) => e.action === action);
  }
}

export interface Received {
  topic: string;
  payload: string;
  retain: boolean;
}

/** A connected client that records what it receives. */
export class TestClient {
  readonly received: Received[] = [];
  closed = false;

  private constructor(readonly client: MqttClient) {
    client.on('message', (topic, payload, packet) => this.received.push({ topic, payload: payload.toString(), retain: packet.retain }));
    client.on('close', () => (this.closed = true));
  }

  static async connect(url: string, username: string | undefined, password: string | undefined, clientId: string, extra: IClientOptions = {}): Promise<TestClient> {
    const client = await mqtt.connectAsync(url, { username, password, clientId, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000, ...extra }, false);
    return new TestClient(client);
  }

  /** The granted QoS (or failure code 0x80 / MQTT 5 reason code) of one subscription. */
  async subscribe(filter: string, qos: 0 | 1 = 1): Promise<number> {
    try {
      const granted = await this.client.subscribeAsync(filter, { qos });
      return granted[0]?.qos ?? -1;
    } catch (err) {
      const granted = (err as { packet?: { granted?: unknown[] } }).packet?.granted?.[0];
      if (typeof granted === 'number') return granted;
      const code = (err as { code?: unknown }).code;
      if (typeof code === 'number') return code;
      throw err;
    }
  }

  topics(): string[] {
    return this.received.map((r) => r.topic);
  }

  async waitFor(pred: (r: Received) => boolean, what: string, timeoutMs = 5000): Promise<Received> {
    return waitUntil(() => this.received.find(pred), what, timeoutMs);
  }

  async waitClosed(timeoutMs = 5000): Promise<void> {
    await waitUntil(() => this.closed || undefined, 'the connection to close', timeoutMs);
  }

  async end(): Promise<void> {
    await this.client.endAsync(true);
  }
}

/** Connect and return the refusal error's CONNACK code, or undefined when the login succeeded. */
export async function connackCode(url: string, username: string | undefined, password: string | undefined, clientId: string, extra: IClientOptions = {}): Promise<number | undefined> {
  try {
    const c = await TestClient.connect(url, username, password, clientId, extra);
    await c.end();
    return undefined;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'number') return code;
    throw err;
  }
}

export async function waitUntil<T>(probe: () => T | undefined | false, what: string, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
