import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import { startCameraSimulation, startSimulation, type CameraSimulation, type Simulation } from '@cityedge/simulators';
import type { Agent } from '@cityedge/edge-agent';
import { AGENT_BUILD } from '../global-setup.js';
import { TestBroker } from '@cityedge/test-support';
import { TelemetryConsumer } from '../support/consumer.js';
import { buildAgent, quiet, tempDir, waitUntil } from '../support/fixtures.js';

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

/**
 * The agent as a real process, with one camera whose password file is missing: check-config
 * refuses the configuration naming the file, while `run` marks only that camera misconfigured
 * (event and retained status), keeps polling and forwarding, probes the other camera with a
 * password file given relative to the configuration file, and recovers the camera once its
 * file is put in place.
 */
describe('a camera whose password file is missing, with the agent as a process', () => {
  const broker = new TestBroker();
  let consumer: TelemetryConsumer;
  let cams: CameraSimulation;
  let modbus: Simulation;
  let watcher: mqtt.MqttClient;
  let agent: ChildProcess | undefined;
  let stderr = '';
  const retained: { cameras?: { cameras: Array<{ id: string; state: string; reasons: string[]; detail?: string }> } } = {};
  const dir = tempDir('cityedge-cam-secret-');
  const file = join(dir, 'agent.json');

  beforeAll(async () => {
    await broker.start();
    consumer = new TelemetryConsumer(broker.url);
    await consumer.start();
    watcher = mqtt.connect(broker.url, { protocolVersion: 4, clientId: 'cam-secret-watcher' });
    watcher.on('error', () => undefined);
    watcher.on('message', (topic, payload) => {
      if (topic.endsWith('/cameras')) retained.cameras = JSON.parse(payload.toString()) as typeof retained.cameras;
    });
    await new Promise<void>((r) => watcher.once('connect', () => r()));
    await watcher.subscribeAsync('edge/v1/gw-cam-secret/cameras', { qos: 1 });
    modbus = await startSimulation({ endpoints: [{ id: 'bus', transport: 'tcp', devices: [{ id: 'th', model: 'sht20', unitId: 1 }] }] }, { logger: quiet });
    cams = await startCameraSimulation(
      {
        cameras: [
          { id: 'gate', username: 'probe', password: 'gate-pw', width: 160, height: 96, fps: 5, discovery: false },
          { id: 'lost', username: 'probe', password: 'lost-pw', width: 160, height: 96, fps: 5, discovery: false },
        ],
      },
      { logger: quiet },
    );
    writeFileSync(join(dir, 'gate-password'), 'gate-pw\n', { mode: 0o600 });
    writeFileSync(
      file,
      JSON.stringify({
        gateway: { id: 'gw-cam-secret' },
        forwarding: { brokerUrl: broker.url, reconnectMinMs: 100, reconnectMaxMs: 1000 },
        http: { enabled: false },
        lines: [{ id: 'bus', type: 'tcp', host: '127.0.0.1', port: modbus.endpoint('bus').port, devices: [{ id: 'th', profile: 'sht20', unitId: 1, pollIntervalMs: 200 }] }],
        cameras: {
          probeIntervalMs: 5000,
          callTimeoutMs: 1500,
          confirmAfter: 1,
          // Relative: from the configuration file's directory (the agent runs from the repository root).
          credentials: { gate: { username: 'probe', passwordFile: 'gate-password' }, lost: { username: 'probe', passwordFile: 'lost-password' } },
          devices: [
            { id: 'gate', host: '127.0.0.1', port: cams.camera('gate').info().httpPort, credentials: 'gate' },
            { id: 'lost', host: '127.0.0.1', port: cams.camera('lost').info().httpPort, credentials: 'lost' },
          ],
        },
      }),
    );
  });

  afterAll(async () => {
    if (agent && agent.exitCode === null) {
      agent.kill('SIGKILL');
      await new Promise((r) => agent?.once('exit', r));
    }
    await watcher?.endAsync(true);
    await consumer?.stop();
    await cams?.stop();
    await modbus?.stop();
    await broker.stop();
  });

  it('check-config reports the missing camera password file as an error, with its config path and file', () => {
    const r = spawnSync(process.execPath, [AGENT_BUILD, 'check-config', '--config', file], { encoding: 'utf8', timeout: 15_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`${file}: cameras.credentials.lost.passwordFile: cannot read "${join(dir, 'lost-password')}" (ENOENT)`);
    expect(r.stderr).not.toContain('gate-password');
    expect(r.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
  });

  it('run: only that camera is misconfigured; polling, forwarding and the other camera go on, and it recovers once its file is there', async () => {
    agent = spawn(process.execPath, [AGENT_BUILD, 'run', '--config', file, '--state-dir', dir, '--log-level', 'warn'], { stdio: ['ignore', 'ignore', 'pipe'] });
    agent.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const stateOf = (dev: string) => consumer.events.filter((e) => e.dev === dev && e.type.startsWith('camera.') && e.type !== 'camera.inventory').at(-1);
    await waitUntil(() => stateOf('lost') !== undefined && stateOf('gate') !== undefined && consumer.readings.filter((r) => r.dev === 'th').length >= 10, 20_000, `camera states and readings (agent log: ${stderr})`);
    expect(agent.exitCode).toBeNull();
    const detail = `cameras.credentials.lost.passwordFile: cannot read "${join(dir, 'lost-password')}" (ENOENT)`;
    expect(stateOf('lost')).toMatchObject({ type: 'camera.misconfigured', severity: 'warning', data: { state: 'misconfigured', reasons: ['credentials-unreadable'], code: 'EDGE_CAMERA_CONFIG', detail } });
    expect(stateOf('gate')?.type).toBe('camera.online');
    expect(consumer.readings.filter((r) => r.dev === 'th').every((r) => r.q === 'good')).toBe(true);
    await waitUntil(() => (retained.cameras?.cameras.length ?? 0) === 2, 10_000, 'the retained status of both cameras');
    expect(retained.cameras?.cameras.find((c) => c.id === 'lost')).toMatchObject({ state: 'misconfigured', reasons: ['credentials-unreadable'], detail });
    writeFileSync(join(dir, 'lost-password'), 'lost-pw\n', { mode: 0o600 });
    await waitUntil(() => stateOf('lost')?.type === 'camera.online', 20_000, 'the camera online once its password file is readable');
    const before = consumer.readings.length;
    await waitUntil(() => consumer.readings.length > before, 10_000, 'readings still forwarded');
    agent.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => agent?.once('exit', (c) => r(c)));
    expect(code).toBe(0);
    expect(stderr).not.toContain('gate-pw');
    expect(stderr).not.toContain('lost-pw');
  });
});
