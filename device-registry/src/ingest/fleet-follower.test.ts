import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Channel, encodeStatus, topicFor, type ConfigReport, type StatusMessage } from '@cityedge/contract';
import { EmbeddedBroker } from '../broker/embedded-broker.js';
import { AuditLog, MemoryCredentials, TestClient, quiet, waitUntil } from '../broker/testing/mqtt-test-kit.js';
import { FleetFollower } from './fleet-follower.js';
import type { FleetListener } from './ports.js';

class RecordingListener implements FleetListener {
  statuses: Array<[string, StatusMessage]> = [];
  reports: ConfigReport[] = [];
  throwOnce = false;
  onStatus(gw: string, s: StatusMessage): void {
    if (this.throwOnce) {
      this.throwOnce = false;
      throw new Error('db down');
    }
    this.statuses.push([gw, s]);
  }
  async onReport(r: ConfigReport): Promise<void> {
    this.reports.push(r);
  }
}

describe('fleet follower', () => {
  const broker = new EmbeddedBroker({ port: 0, credentials: new MemoryCredentials({ 'gw-a': 'pa', 'gw-b': 'pb' }), audit: new AuditLog().sink, logger: quiet });
  const listener = new RecordingListener();
  let follower: FleetFollower;
  let a: TestClient;

  const online = (gw: string, extra: Partial<StatusMessage> = {}): string => encodeStatus({ v: 1, gw, state: 'online', ts: 1_700_000_000_000, agentVersion: '0.1.0', configVersion: 3, backlog: 0, devicesFailing: 1, ...extra });

  beforeAll(async () => {
    await broker.start();
    a = await TestClient.connect(broker.url, 'gw-a', 'pa', 'gw-a');
    await a.client.publishAsync(topicFor('gw-a', 'status'), online('gw-a'), { qos: 1, retain: true });
    follower = new FleetFollower({ connection: broker.serviceConnection(), listener, logger: quiet });
    await follower.start();
  });
  afterAll(async () => {
    await a?.end();
    await follower?.stop();
    await broker.stop();
  });

  it('reports the retained status it finds at start, then live ones including the last will', async () => {
    await waitUntil(() => listener.statuses.length >= 1, 'the retained status');
    expect(listener.statuses[0]).toEqual(['gw-a', expect.objectContaining({ gw: 'gw-a', state: 'online', configVersion: 3, devicesFailing: 1 })]);
    const will = { topic: topicFor('gw-b', 'status'), payload: Buffer.from(online('gw-b', { state: 'offline' })), qos: 1 as const, retain: true };
    const b = await TestClient.connect(broker.url, 'gw-b', 'pb', 'gw-b', { will });
    await b.client.publishAsync(topicFor('gw-b', 'status'), online('gw-b'), { qos: 1, retain: true });
    (b.client.stream as { destroy(): void }).destroy();
    await waitUntil(() => listener.statuses.some(([gw, s]) => gw === 'gw-b' && s.state === 'offline'), 'the last will of gw-b');
    expect(listener.statuses.filter(([gw]) => gw === 'gw-b').map(([, s]) => s.state)).toEqual(['online', 'offline']);
  });

  it('hands config reports to the listener', async () => {
    const report: ConfigReport = { v: 1, gw: 'gw-a', version: 4, state: 'rolled_back', ts: 1_700_000_000_500, reason: 'device line broken', running: 3 };
    await a.client.publishAsync(topicFor('gw-a', Channel.configReport), JSON.stringify(report), { qos: 1 });
    await waitUntil(() => listener.reports.length === 1, 'the report');
    expect(listener.reports[0]).toEqual(report);
  });

  it('counts and drops malformed payloads and payloads naming another gateway, and keeps going', async () => {
    const before = follower.stats();
    const nStatus = listener.statuses.length;
    const bad = ['not json', '{"v":1}', JSON.stringify({ v: 2, gw: 'gw-a', state: 'online', ts: 1 }), JSON.stringify({ v: 1, gw: 'gw-a', state: 'sleeping', ts: 1 }), 'x'.repeat(70_000), '[]', 'null'];
    for (const p of bad) await a.client.publishAsync(topicFor('gw-a', 'status'), p, { qos: 1 });
    await a.client.publishAsync(topicFor('gw-a', Channel.configReport), '{"v":1,"gw":"gw-a","state":"applied"}', { qos: 1 });
    await a.client.publishAsync(topicFor('gw-a', 'status'), online('gw-b'), { qos: 1 });
    await a.client.publishAsync(topicFor('gw-a', Channel.configReport), JSON.stringify({ v: 1, gw: 'gw-b', version: 9, state: 'applied', ts: 1, running: 9 }), { qos: 1 });
    await a.client.publishAsync(topicFor('gw-a', 'status'), online('gw-a', { backlog: 42 }), { qos: 1 });
    await waitUntil(() => listener.statuses.some(([, s]) => s.backlog === 42), 'the valid status after the bad ones');
    const after = follower.stats();
    expect(after.malformed - before.malformed).toBe(bad.length + 1);
    expect(after.mismatched - before.mismatched).toBe(2);
    expect(listener.statuses.slice(nStatus)).toEqual([['gw-a', expect.objectContaining({ backlog: 42 })]]);
    expect(listener.reports.some((r) => r.gw === 'gw-b')).toBe(false);
  });

  it('survives a failing listener and an empty retained message', async () => {
    listener.throwOnce = true;
    await a.client.publishAsync(topicFor('gw-a', 'status'), online('gw-a', { backlog: 1 }), { qos: 1 });
    await a.client.publishAsync(topicFor('gw-a', 'status'), '', { qos: 1, retain: true });
    await a.client.publishAsync(topicFor('gw-a', 'status'), online('gw-a', { backlog: 2 }), { qos: 1 });
    await waitUntil(() => listener.statuses.some(([, s]) => s.backlog === 2), 'the status after the failure');
    expect(follower.stats()).toMatchObject({ listenerErrors: 1, cleared: 1 });
    expect(listener.statuses.some(([, s]) => s.backlog === 1)).toBe(false);
  });
});
