import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import { startCameraSimulation, type CameraSimulation } from '@cityedge/simulators';
import type { Agent } from '@cityedge/edge-agent';
import { TestBroker } from '../support/broker.js';
import { TelemetryConsumer } from '../support/consumer.js';
import { buildAgent, quiet, waitUntil } from '../support/fixtures.js';

/**
 * The agent probes simulated ONVIF cameras next to its Modbus work: state changes reach the
 * central consumer as events, the retained cameras status shows every camera, and no
 * credential appears in anything forwarded.
 */
describe('camera probing through the agent', () => {
  const broker = new TestBroker();
  let consumer: TelemetryConsumer;
  let sim: CameraSimulation;
  let agent: Agent;
  const retained: Record<string, unknown> = {};
  let watcher: mqtt.MqttClient;
  const wire: string[] = [];

  beforeAll(async () => {
    await broker.start();
    consumer = new TelemetryConsumer(broker.url);
    await consumer.start();
    watcher = mqtt.connect(broker.url, { protocolVersion: 4, clientId: 'cam-watcher' });
    watcher.on('error', () => undefined);
    watcher.on('message', (topic, payload) => {
      wire.push(payload.toString());
      if (topic.endsWith('/cameras')) retained.cameras = JSON.parse(payload.toString());
    });
    await new Promise<void>((r) => watcher.once('connect', () => r()));
    await watcher.subscribeAsync('edge/v1/#', { qos: 1 });
    sim = await startCameraSimulation(
      {
        cameras: [
          { id: 'gate', username: 'probe', password: 'Mật-khẩu-1', width: 160, height: 96, fps: 5 },
          { id: 'market', username: 'probe', password: 'rotated-elsewhere', width: 160, height: 96, fps: 5 },
          { id: 'bridge', username: 'probe', password: 'Mật-khẩu-1', width: 160, height: 96, fps: 5, fault: 'rtsp-down' },
        ],
      },
      { logger: quiet },
    );
    const cam = (id: string) => ({ id, host: '127.0.0.1', port: sim.camera(id).info().httpPort });
    agent = await buildAgent({
      gateway: { id: 'gw-cams' },
      forwarding: { brokerUrl: broker.url },
      http: { enabled: false },
      cameras: {
        probeIntervalMs: 5000,
        callTimeoutMs: 1500,
        confirmAfter: 1,
        credentials: { default: { username: 'probe', password: 'Mật-khẩu-1' } },
        devices: [cam('gate'), cam('market'), cam('bridge')],
      },
    });
    await agent.start();
  });

  afterAll(async () => {
    await agent?.stop();
    await watcher?.endAsync(true);
    await consumer?.stop();
    await sim?.stop();
    await broker.stop();
  });

  it('reports each camera state as an event and in the retained status', async () => {
    const stateOf = (dev: string) => consumer.events.filter((e) => e.dev === dev && /^camera\.(online|degraded|unauthorized|unreachable)$/.test(e.type)).at(-1)?.type;
    await waitUntil(() => stateOf('gate') !== undefined && stateOf('market') !== undefined && stateOf('bridge') !== undefined, 20_000, 'a state for every camera');
    expect(stateOf('gate')).toBe('camera.online');
    expect(stateOf('market')).toBe('camera.unauthorized');
    expect(stateOf('bridge')).toBe('camera.degraded');
    expect(consumer.events.find((e) => e.dev === 'bridge' && e.type === 'camera.degraded')?.data).toMatchObject({ reasons: expect.arrayContaining(['rtsp-down']) });
    expect(consumer.events).toContainEqual(expect.objectContaining({ type: 'camera.inventory', dev: 'gate' }));
    const states = () => Object.fromEntries(((retained.cameras as { cameras?: Array<{ id: string; state: string }> } | undefined)?.cameras ?? []).map((c) => [c.id, c.state]));
    await waitUntil(() => Object.keys(states()).length === 3, 10_000, 'the retained status of all three cameras');
    expect(states()).toEqual({ gate: 'online', market: 'unauthorized', bridge: 'degraded' });
  });

  it('sees a camera come back after its RTSP server does, and never forwards a password', async () => {
    await sim.camera('bridge').clearFault();
    await waitUntil(() => consumer.events.some((e) => e.dev === 'bridge' && e.type === 'camera.online'), 20_000, 'the bridge camera online');
    const everything = wire.join('\n');
    expect(everything).not.toContain('Mật-khẩu-1');
    expect(everything).not.toContain('rotated-elsewhere');
  });
});
