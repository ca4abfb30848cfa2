import { readFile } from 'node:fs/promises';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { SimError } from './errors.js';
import { parseSimulationSpec, startSimulation } from './simulation.js';
import { ManualClock, RawClient, tcpRead } from './test-support/raw-client.js';
import { VegapulsC21 } from './devices/vegapuls-c21.js';

const EXAMPLE = fileURLToPath(new URL('../examples/city-block.yaml', import.meta.url));

function problemsOf(spec: unknown): string[] {
  try {
    parseSimulationSpec(spec);
  } catch (err) {
    expect(err).toBeInstanceOf(SimError);
    expect((err as SimError).code).toBe('SIM_CONFIG_INVALID');
    return (err as SimError).problems.map((p) => `${p.path}: ${p.message}`);
  }
  throw new Error('spec was accepted');
}

const tcp = (devices: unknown[]) => ({ endpoints: [{ id: 'e', transport: 'tcp', devices }] });

describe('simulation spec', () => {
  it('accepts the example city block (it must not drift from the schema)', async () => {
    const spec = parseSimulationSpec(parseYaml(await readFile(EXAMPLE, 'utf8')));
    expect(spec.endpoints.map((e) => e.id)).toEqual(['dong-ha-station', 'air-quality', 'street-lighting']);
    expect(spec.endpoints[2]?.devices[1]?.fault).toEqual({ mode: 'slow', delayMs: 150, probability: 0.05 });
  });

  it('reports every problem with its path', () => {
    const problems = problemsOf({
      endpoints: [
        {
          id: 'bus',
          transport: 'rtu-over-tcp',
          devices: [
            { id: 'a', model: 'sht20', unitId: 3 },
            { id: 'b', model: 'sht20', unitId: 3, options: { temprature: 20 } },
            { id: 'c', model: 'flowmeter' },
            { id: 'd', model: 'eastron-sdm120', unitId: 4, options: { source: 'a' }, fault: 'exception:12' },
          ],
        },
        { id: 'ser', transport: 'serial', devices: [{ id: 'e', model: 'sht20', unitId: 0 }] },
      ],
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        'endpoints[0].devices[1].options: unknown key "temprature"',
        expect.stringMatching(/^endpoints\[0\]\.devices\[2\]\.model: expected one of "vegapuls-c21"/),
        'endpoints[0].devices[3].fault.code: expected <= 11',
        'endpoints[1].path: a serial endpoint needs "path"',
        'endpoints[1].devices[0].unitId: expected 1..247 on an RTU bus, got 0',
      ]),
    );
    expect(problemsOf(tcp([{ id: 'a', model: 'sht20' }, { id: 'b', model: 'sht20' }]))).toEqual(['endpoints[0].devices[1].unitId: unit id 1 is also used by devices[0]']);
    expect(problemsOf(tcp([{ id: 'm', model: 'eastron-sdm120', options: { source: 'nope' } }]))).toEqual(['endpoints[0].devices[0].options.source: no device "nope" in this simulation']);
    expect(problemsOf({ endpoints: [] })).toEqual(['endpoints: a simulation needs at least one endpoint']);
  });
});

describe('startSimulation', () => {
  it('runs the example on ephemeral ports and stops cleanly, closing client connections', async () => {
    const spec = parseYaml(await readFile(EXAMPLE, 'utf8')) as { endpoints: Array<{ port: number }> };
    for (const ep of spec.endpoints) ep.port = 0;
    const sim = await startSimulation(spec, { clock: new ManualClock(), tickMs: 0 });
    expect(sim.endpoints).toHaveLength(3);
    expect(sim.timeScale).toBe(240);
    const port = sim.endpoint('air-quality').port ?? 0;
    const c = await RawClient.connect(port);
    expect(await tcpRead(c, 2, 4, 1, 2)).toHaveLength(2);
    await sim.stop();
    await c.waitClosed();
    await expect(RawClient.connect(port)).rejects.toThrow();
    await sim.stop();
  });

  it('rejects a port in use with SIM_LISTEN', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const taken = (blocker.address() as net.AddressInfo).port;
    const attempt = startSimulation({
      endpoints: [
        { id: 'ok', transport: 'tcp', devices: [{ id: 'a', model: 'sht20' }] },
        { id: 'clash', transport: 'tcp', port: taken, devices: [{ id: 'b', model: 'sht20' }] },
      ],
    });
    await expect(attempt).rejects.toMatchObject({ code: 'SIM_LISTEN' });
    await new Promise<void>((r) => blocker.close(() => r()));
  });

  it('gives typed devices, time scale control and coded errors', async () => {
    const clock = new ManualClock();
    const sim = await startSimulation(tcp([{ id: 'r', model: 'vegapuls-c21' }]), { clock, timeScale: 60, tickMs: 0 });
    try {
      expect(sim.device('r', VegapulsC21).wordOrder).toBe('ABCD');
      const t0 = sim.simNow();
      clock.advance(60_000);
      expect(sim.simNow() - t0).toBe(3_600_000);
      sim.setTimeScale(1);
      clock.advance(60_000);
      expect(sim.simNow() - t0).toBe(3_660_000);
      expect(() => sim.device('nope')).toThrow(expect.objectContaining({ code: 'SIM_UNKNOWN_DEVICE' }));
      expect(() => sim.device('r').setFault('exception:99')).toThrow(expect.objectContaining({ code: 'SIM_BAD_VALUE' }));
      expect(() => sim.device('r').setFault('melt')).toThrow(expect.objectContaining({ code: 'SIM_BAD_VALUE' }));
      expect(() => sim.device('r').setValue('pm25', 3)).toThrow(expect.objectContaining({ code: 'SIM_BAD_VALUE' }));
    } finally {
      await sim.stop();
    }
  });

  it('is reproducible for a seed', async () => {
    const levelWith = async (seed: number) => {
      const clock = new ManualClock();
      const sim = await startSimulation(tcp([{ id: 'r', model: 'vegapuls-c21', options: { noiseM: 0.05 } }]), { clock, seed, tickMs: 0, startTime: 0 });
      clock.advance(1_234_567);
      const level = sim.device('r').snapshot().level;
      await sim.stop();
      return level;
    };
    expect(await levelWith(1)).toBe(await levelWith(1));
    expect(await levelWith(1)).not.toBe(await levelWith(2));
  });
});
