import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Reading } from '@cityedge/contract';
import type { Agent } from '@cityedge/edge-agent';
import { scanLine } from '@cityedge/edge-agent';
import { openPtyPair, startSimulation, type PtyPair, type Simulation } from '@cityedge/simulators';
import { TestBroker } from '@cityedge/test-support';
import { buildAgent, quiet, tempDir, waitUntil } from '../support/fixtures.js';

/**
 * A line scan on a real serial line (socat pseudo-terminals, 9600 8N1): it finds the simulators'
 * unit ids, also in a slot at another baud rate (a pty ignores the rate, so the same units answer:
 * what is tested there is the switching), while the device the line polls keeps its schedule.
 */
describe('line scan over a pseudo-terminal', () => {
  const broker = new TestBroker();
  let pty: PtyPair;
  let sim: Simulation;
  let agent: Agent;
  const polled: Reading[] = [];

  beforeAll(async () => {
    await broker.start();
    const dir = tempDir('cityedge-scan-pty-');
    pty = await openPtyPair(join(dir, 'devices'), join(dir, 'gateway'));
    sim = await startSimulation({ endpoints: [{ id: 'rs485', transport: 'serial', path: pty.devicePath, baudRate: 9600, devices: [3, 9, 17].map((u) => ({ id: `th-${u}`, model: 'sht20' as const, unitId: u })) }] }, { logger: quiet });
    agent = await buildAgent({
      gateway: { id: 'gw-scan' },
      lines: [{ id: 'rs485', type: 'rtu', path: pty.hostPath, baudRate: 9600, timeoutMs: 150, devices: [{ id: 'th-3', profile: 'sht20', unitId: 3, pollIntervalMs: 500 }] }],
      forwarding: { brokerUrl: broker.url },
      http: { enabled: false },
    });
    agent.bus.subscribe({ name: 'test', readings: (r) => polled.push(...r.filter((x) => x.dev === 'th-3' && x.pt === 'temperature')) });
    await agent.start();
    await waitUntil(() => polled.length > 2, 10_000, 'the first polls');
  });

  afterAll(async () => {
    await agent?.stop();
    await sim?.stop();
    await pty?.close();
    await broker.stop();
  });

  it('finds the unit ids at each baud rate while the polled device keeps its schedule', async () => {
    const progress: number[] = [];
    const from = Date.now();
    const r = await scanLine(agent.lines[0]!, { from: 1, to: 20, baudRates: [19200], deadlineMs: 120_000, now: Date.now, progress: (p) => progress.push(p.done) });
    expect(r).toMatchObject({ line: 'rs485', probed: 40, total: 40, complete: true, baudRates: [9600, 19200] });
    expect(r.found.map((f) => `${f.unitId}@${f.baudRate}`)).toEqual(['3@9600', '9@9600', '17@9600', '3@19200', '9@19200', '17@19200']);
    expect(progress.at(-1)).toBe(40);
    const during = polled.filter((x) => x.ts >= from).map((x) => x.ts);
    const gaps = during.slice(1).map((t, i) => t - during[i]!);
    expect(during.length).toBeGreaterThan(3);
    expect(Math.max(...gaps)).toBeLessThan(2500);
    expect(polled.filter((x) => x.ts >= from).every((x) => x.q === 'good')).toBe(true);
  }, 150_000);
});
