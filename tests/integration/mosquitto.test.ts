import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulation, type Simulation } from '@cityedge/simulators';
import { AGENT_BUILD } from '../global-setup.js';
import { TelemetryConsumer } from '../support/consumer.js';
import { crashCycles } from '../support/crash-cycles.js';
import { MosquittoProcess } from '@cityedge/test-support';
import { buildAgent, quiet, tempDir, waitUntil } from '../support/fixtures.js';

/** The agent against the real broker a central deployment runs: Debian's Mosquitto, MQTT 5. */
describe('forwarding to Mosquitto', () => {
  const mosq = new MosquittoProcess('log_type all\nlog_dest stdout');
  let sim: Simulation;

  beforeAll(async () => {
    await mosq.start();
    sim = await startSimulation({ endpoints: [{ id: 'bus', transport: 'tcp', devices: [1, 2].map((u) => ({ id: `th-${u}`, model: 'sht20' as const, unitId: u })) }] }, { logger: quiet });
  });
  afterAll(async () => {
    await sim?.stop();
    await mosq.stop();
  });

  const lines = () => [{ id: 'bus', type: 'tcp' as const, host: '127.0.0.1', port: sim.endpoint('bus').port!, devices: [1, 2].map((u) => ({ id: `th-${u}`, profile: 'sht20', unitId: u, pollIntervalMs: 100 })) }];

  it('connects with MQTT 5, and the broker publishes the last will when the agent dies', async () => {
    const consumer = new TelemetryConsumer(mosq.url);
    await consumer.start();
    const dir = tempDir();
    const cfg = join(dir, 'agent.json');
    writeFileSync(cfg, JSON.stringify({ gateway: { id: 'gw-mosq' }, lines: lines(), forwarding: { brokerUrl: mosq.url, keepaliveSec: 5 }, http: { enabled: false } }));
    const proc = spawn(process.execPath, [AGENT_BUILD, 'run', '--config', cfg, '--state-dir', dir, '--log-level', 'error'], { stdio: 'ignore' });
    try {
      await waitUntil(() => consumer.readings.length > 20, 15_000, 'telemetry through Mosquitto');
      expect(mosq.output).toMatch(/as gw-mosq \(p5,/);
      expect(consumer.statuses).toContainEqual(expect.objectContaining({ gw: 'gw-mosq', state: 'online' }));
      proc.kill('SIGKILL');
      await waitUntil(() => consumer.statuses.some((s) => (s as { state: string }).state === 'offline'), 15_000, 'the last will');
      expect(consumer.gaps('gw-mosq')).toEqual([]);
    } finally {
      proc.kill('SIGKILL');
      await consumer.stop();
    }
  }, 40_000);

  it('loses nothing when Mosquitto is killed and comes back', async () => {
    const consumer = new TelemetryConsumer(mosq.url);
    await consumer.start();
    // No jitter here (random = 1): the agent retries 1 s, 2 s, 4 s... after the broker goes, so the
    // consumer, retrying every 200 ms, is subscribed again before the agent resends.
    const agent = await buildAgent(
      { gateway: { id: 'gw-bounce' }, lines: lines(), forwarding: { brokerUrl: mosq.url, reconnectMinMs: 1000, reconnectMaxMs: 4000 }, http: { enabled: false } },
      tempDir(),
      { random: () => 0.999 },
    );
    await agent.start();
    try {
      await waitUntil(() => consumer.readings.length > 20, 10_000, 'live readings');
      await mosq.stop();
      const downAt = Date.now();
      // Mosquitto here keeps nothing on disk: what it acknowledged before SIGKILL is its loss, not ours.
      await waitUntil(() => !agent.session.stats().connected, 10_000, 'the agent to see the broker gone'); // PUBACKs already received are processed
      const firstUnacked = agent.outbox.inflight()[0]?.seq ?? agent.outbox.stats().nextSeq;
      await waitUntil(() => agent.outbox.stats().backlogRows > 100, 10_000, 'a backlog');
      const before = consumer.subscriptions;
      await mosq.start();
      await consumer.waitFor(() => consumer.subscriptions > before, 15_000, 'the consumer to resubscribe');
      await waitUntil(() => agent.outbox.stats().backlogRows === 0 && consumer.readings.some((r) => r.ts > Date.now() - 300), 20_000, 'the backlog to drain');
      expect(consumer.gaps('gw-bounce').filter((seq) => seq >= firstUnacked)).toEqual([]);
      const th1 = consumer.readings.filter((r) => r.dev === 'th-1' && r.pt === 'temperature');
      expect(th1.some((r) => r.ts > downAt && r.ts < downAt + 1000)).toBe(true);
      const ts = th1.map((r) => r.ts);
      expect(ts).toEqual([...ts].sort((a, b) => a - b));
    } finally {
      await agent.stop();
      await consumer.stop();
    }
  }, 60_000);

  it('survives 150 SIGKILLs under load with nothing committed lost or doubled', async () => {
    const r = await crashCycles({ brokerUrl: mosq.url, cycles: 150, seed: 7, minMs: 150, maxMs: 700, startupKillEvery: 2 });
    console.info(`crash cycles: ${r.cycles} kills, ${r.committed.size} readings found committed after kills, ${r.received} received`);
    expect(r.missing).toEqual([]);
    expect(r.twice).toBe(0);
    expect(r.gaps).toEqual([]);
    expect(r.integrity.filter((x) => x !== 'ok')).toEqual([]);
  }, 600_000);
});
