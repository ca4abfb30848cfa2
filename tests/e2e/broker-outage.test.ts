import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulation, type Simulation } from '@cityedge/simulators';
import type { Agent } from '@cityedge/edge-agent';
import { TestBroker } from '@cityedge/test-support';
import { TelemetryConsumer } from '../support/consumer.js';
import { buildAgent, quiet, waitUntil } from '../support/fixtures.js';

/**
 * Reliability case 4 in small: the broker goes away while devices are polled; the outbox holds
 * the readings; after the broker returns, events arrive ahead of the backlog, then the backlog
 * in order, with nothing lost and polling on schedule throughout.
 */
describe('broker down, then back', () => {
  // After a restart the gateway is let in only once the consumer has subscribed again, so the
  // consumer sees everything the gateway sends (a broker drops messages nobody subscribed to).
  let gatewayAdmitted = true;
  const broker = new TestBroker({
    setup: (b) => {
      b.authenticate = (client, _u, _p, done) => done(null, client.id !== 'gw-outage' || gatewayAdmitted);
    },
  });
  let consumer: TelemetryConsumer;
  let sim: Simulation;
  let agent: Agent;

  beforeAll(async () => {
    await broker.start();
    consumer = new TelemetryConsumer(broker.url);
    await consumer.start();
    sim = await startSimulation(
      { endpoints: [{ id: 'bus', transport: 'rtu-over-tcp', devices: [1, 2, 3].map((u) => ({ id: `th-${u}`, model: 'sht20' as const, unitId: u })) }] },
      { logger: quiet },
    );
    agent = await buildAgent({
      gateway: { id: 'gw-outage' },
      lines: [
        {
          id: 'bus',
          type: 'rtu-over-tcp',
          host: '127.0.0.1',
          port: sim.endpoint('bus').port!,
          timeoutMs: 200,
          quarantineAfter: 2,
          devices: [1, 2, 3].map((u) => ({ id: `th-${u}`, profile: 'sht20', unitId: u, pollIntervalMs: 100 })),
        },
      ],
      forwarding: { brokerUrl: broker.url, maxBatchReadings: 5, inflightWindow: 4, reconnectMinMs: 200, reconnectMaxMs: 1000 },
      http: { enabled: false },
    });
    await agent.start();
  });

  afterAll(async () => {
    await agent?.stop();
    await sim?.stop();
    await consumer?.stop();
    await broker.stop();
  });

  it('loses nothing, keeps order and sends events first', async () => {
    await waitUntil(() => consumer.readings.length > 30, 10_000, 'live readings');
    await broker.stop();
    const downAt = Date.now();
    // What the broker acknowledged before it died is its responsibility (an in-memory broker
    // loses what it had not yet passed on); everything from the first unacknowledged seq on is ours.
    await waitUntil(() => !agent.session.stats().connected, 10_000, 'the agent to see the broker gone'); // PUBACKs already received are processed
      const firstUnacked = agent.outbox.inflight()[0]?.seq ?? agent.outbox.stats().nextSeq;
    // While the broker is away a device fails: its offline event waits in the outbox too.
    sim.device('th-3').setFault('no-reply');
    await waitUntil(() => agent.outbox.stats().backlogRows > 150, 15_000, 'a backlog');
    const arrivalsBefore = consumer.arrivals.length;
    const before = consumer.subscriptions;
    gatewayAdmitted = false;
    await broker.start();
    await consumer.waitFor(() => consumer.subscriptions > before, 10_000, 'the consumer to resubscribe');
    gatewayAdmitted = true;
    const upAt = Date.now();
    await waitUntil(() => agent.outbox.stats().backlogRows === 0 && consumer.readings.some((r) => r.ts > upAt + 500), 20_000, 'the backlog to drain');

    // Nothing lost: every message not acknowledged before the outage arrived, gap-free.
    expect(consumer.gaps('gw-outage').filter((seq) => seq >= firstUnacked)).toEqual([]);
    const during = consumer.readings.filter((r) => r.dev === 'th-1' && r.pt === 'temperature' && r.ts > downAt && r.ts < upAt);
    expect(during.length).toBeGreaterThan((upAt - downAt) / 100 / 2);
    // Order kept: each point's readings arrive in time order.
    for (const dev of ['th-1', 'th-2']) {
      const ts = consumer.readings.filter((r) => r.dev === dev && r.pt === 'humidity').map((r) => r.ts);
      expect(ts).toEqual([...ts].sort((a, b) => a - b));
    }
    // Events first: after the outage, the events batch with device.offline comes ahead of the
    // telemetry backlog; only the window of messages in flight when the broker died (resent with
    // their own seq) may precede it.
    const after = consumer.arrivals.slice(arrivalsBefore);
    const firstEvents = after.findIndex((a) => a.channel === 'events');
    expect(firstEvents).toBeGreaterThanOrEqual(0);
    expect(firstEvents).toBeLessThanOrEqual(4);
    expect(after.filter((a) => a.channel === 'telemetry').length).toBeGreaterThan(20);
    expect(consumer.events).toContainEqual(expect.objectContaining({ type: 'device.offline', dev: 'th-3' }));
    // Polling kept its schedule while the broker was away.
    const th1 = agent.lines[0]!.stats().devices.find((d) => d.id === 'th-1')!;
    expect(th1.consecutiveFailures).toBe(0);
  }, 60_000);
});
