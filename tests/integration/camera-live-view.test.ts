import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import { WebSocket } from 'ws';
import { Channel, encodeCamerasStatus, encodeEvent, encodeEventsMessage, topicFor, type EnrollResponse } from '@cityedge/contract';
import { startCentral, type Central } from '@cityedge/device-registry';
import { startCameraSimulation, type CameraSimulation } from '@cityedge/simulators';
import { eventually, quiet, reportedInventory, tempDir, waitUntil } from '../support/fixtures.js';
import { registryApi } from '../support/programs.js';

const ADMIN = 'test-admin-token-live-0123456789';
const GW = 'gw-live-01';
/** URL-reserved characters on purpose: the relay percent-encodes them and ffmpeg decodes them. */
const PASSWORD = 'L1ve@gate:/%41';

function ffmpegVersion(): Promise<number> {
  return new Promise((resolve) => execFile('ffmpeg', ['-version'], { timeout: 10_000 }, (err) => resolve(err ? (typeof err.code === 'number' ? err.code : -1) : 0)));
}

function pidGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * Live view end to end with the real ffmpeg: a gateway (its own MQTT credentials, through the
 * broker ACL) reports a simulated camera's inventory; a technician asks the registry for a live
 * ticket; a WebSocket client receives node-rtsp-stream's header and MPEG-1 video in MPEG-TS,
 * transcoded by ffmpeg from the simulator's RTSP (Digest auth); ffmpeg ends once the client
 * leaves. Fails (never skips) without ffmpeg.
 */
describe('camera live view through the registry (real ffmpeg)', () => {
  let central: Central;
  let sim: CameraSimulation;
  let gateway: mqtt.MqttClient;

  const api = registryApi(() => central.url, ADMIN);

  beforeAll(async () => {
    if ((await ffmpegVersion()) !== 0) throw new Error('ffmpeg is required for this test (apt-get install ffmpeg)');
    sim = await startCameraSimulation({ cameras: [{ id: 'cam-1', username: 'admin', password: PASSWORD, width: 320, height: 184, fps: 10 }] }, { logger: quiet });
    central = await startCentral({
      dataDir: tempDir('cityedge-live-'),
      logger: quiet,
      http: { host: '127.0.0.1', port: 0 },
      broker: { mode: 'embedded', host: '127.0.0.1', port: 0 },
      adminToken: ADMIN,
      liveView: { idleTimeoutMs: 15_000 },
    });
    const created = await api('POST', '/v1/gateways', { id: GW });
    expect(created.status).toBe(201);
    const info = sim.camera('cam-1').info();
    expect((await api('POST', `/v1/gateways/${GW}/cameras`, { id: 'cam-1', name: 'Gate', host: info.host, onvifPort: info.httpPort, username: 'admin', password: PASSWORD })).status).toBe(201);
    const enrolled = await fetch(`${central.url}/v1/enroll`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code: created.body.enrollment.code }) });
    const identity = (await enrolled.json()) as EnrollResponse;
    gateway = await mqtt.connectAsync(central.brokerUrl, { username: identity.mqtt.username, password: identity.mqtt.password, clientId: GW, protocolVersion: 4, reconnectPeriod: 0 });
  });

  afterAll(async () => {
    await gateway?.endAsync();
    await central?.stop();
    await sim?.stop();
  });

  it('shows the camera the gateway reports, with its inventory and no credentials', async () => {
    const info = sim.camera('cam-1').info();
    const ts = Date.now();
    const inventory = reportedInventory(info);
    const events = [encodeEvent({ type: 'camera.inventory', ts, severity: 'info', dev: 'cam-1', message: 'inventory', data: inventory }), encodeEvent({ type: 'camera.online', ts, severity: 'info', dev: 'cam-1', message: 'online', data: { state: 'online', previous: 'unknown', reasons: [] } })];
    await gateway.publishAsync(topicFor(GW, Channel.events), encodeEventsMessage(GW, 1, events), { qos: 1 });
    await gateway.publishAsync(topicFor(GW, Channel.cameras), encodeCamerasStatus({ v: 1, gw: GW, ts, cameras: [{ id: 'cam-1', state: 'online', reasons: [], since: ts, checkedAt: ts, codec: 'JPEG', width: 320, height: 184 }] }), { qos: 1, retain: true });
    const cam = await eventually(
      async () => {
        const r = await api('GET', `/v1/gateways/${GW}/cameras/status`);
        const c = r.body?.cameras?.[0];
        return c?.inventory && c.codec ? c : undefined;
      },
      10_000,
      'the reported camera',
    );
    expect(cam).toMatchObject({ cameraId: 'cam-1', registered: true, state: 'online', codec: 'JPEG', width: 320, height: 184, inventory: { model: info.model, profiles: [{ token: 'Profile_1', streamUri: info.rtspUrl }, { token: 'Profile_2' }] } });
    expect(JSON.stringify(cam)).not.toContain(PASSWORD);
  });

  it('relays the RTSP stream as MPEG-1 over the WebSocket and stops ffmpeg when the viewer leaves', async () => {
    const t = await api('POST', `/v1/gateways/${GW}/cameras/cam-1/live`, {});
    expect(t.status, JSON.stringify(t.body)).toBe(201);
    expect(t.body).toMatchObject({ profile: 'Profile_1', width: 320, height: 184, format: 'jsmpeg' });
    expect(JSON.stringify(t.body)).not.toContain(PASSWORD);
    expect(JSON.stringify(t.body)).not.toContain(encodeURIComponent(PASSWORD));

    const chunks: Buffer[] = [];
    const ws = new WebSocket(t.body.wsUrl);
    ws.on('message', (d: Buffer) => chunks.push(d));
    const closed = new Promise<number>((r) => ws.on('close', (code) => r(code)));
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const video = () => Buffer.concat(chunks.slice(1));
    // An MPEG-1 sequence header (00 00 01 B3) carried in MPEG-TS: ffmpeg is transcoding real frames.
    await waitUntil(() => video().includes(Buffer.from([0x00, 0x00, 0x01, 0xb3])) && video().length > 20_000, 20_000, 'MPEG-1 video from the relay');
    const header = chunks[0]!;
    expect(header.subarray(0, 4).toString()).toBe('jsmp');
    expect([header.readUInt16BE(4), header.readUInt16BE(6)]).toEqual([320, 184]);
    const ts = video();
    expect(ts[0]).toBe(0x47);
    for (let i = 0; i + 188 <= ts.length; i += 188) expect(ts[i]).toBe(0x47);

    const relays = central.registry.app.liveView.stats().relays;
    expect(relays).toHaveLength(1);
    const pid = relays[0]!.pid!;
    expect(pidGone(pid)).toBe(false);
    expect(sim.camera('cam-1').info().stats.rtpPackets).toBeGreaterThan(0);

    ws.close();
    await closed;
    await waitUntil(() => central.registry.app.liveView.stats().relays.length === 0, 10_000, 'the relay to stop');
    await waitUntil(() => pidGone(pid), 5000, 'ffmpeg to exit');
  });

  it('says why when the camera refuses the credentials, without naming them', async () => {
    expect((await api('PUT', `/v1/gateways/${GW}/cameras/cam-1`, { name: 'Gate', host: '127.0.0.1', username: 'admin', password: 'wrong-password' })).status).toBe(200);
    const t = await api('POST', `/v1/gateways/${GW}/cameras/cam-1/live`, {});
    expect(t.status).toBe(201);
    const ws = new WebSocket(t.body.wsUrl);
    const closed = new Promise<{ code: number; reason: string }>((r) => ws.on('close', (code, reason) => r({ code, reason: reason.toString() })));
    const why = await closed;
    expect(why.code).toBe(1011);
    expect(why.reason).toMatch(/ffmpeg ended/);
    expect(why.reason).not.toContain('wrong-password');
    await waitUntil(() => central.registry.app.liveView.stats().relays.length === 0, 10_000, 'no relay left');
  });
});
