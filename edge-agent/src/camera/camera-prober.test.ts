import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CamerasConfig, type CameraConfig, type CamerasStatusMessage, type CameraThumbnailMessage, type GatewayEvent } from '@cityedge/contract';
import { InlineJpegDecoder } from '@cityedge/drivers/camera';
import { startCameraSimulation, type CameraSimulation, type CameraSpecInput } from '@cityedge/simulators';
import { Outbox } from '../store/outbox.js';
import { CameraProber, type CameraProberOptions } from './camera-prober.js';

/**
 * The prober against simulated cameras over real sockets: one camera per fault mode of issue 4,
 * each probe run explicitly (probeAll), so nothing depends on timing.
 */

const PASSWORD = 'S3cret-pw!';
const base = { username: 'admin', password: PASSWORD, width: 160, height: 120, fps: 30 } satisfies Partial<CameraSpecInput>;
const CAMS = ['healthy', 'wrongpw', 'skewed', 'hang', 'malformed', 'rtspdown', 'frozen', 'reboot', 'digest'] as const;

let sim: CameraSimulation;
const probers: CameraProber[] = [];

beforeAll(async () => {
  sim = await startCameraSimulation({
    cameras: CAMS.map((id) => ({ id, ...base, ...(id === 'digest' && { auth: 'http-digest' as const, snapshotAuth: 'basic' as const }) })),
    discovery: { maxDelayMs: 0 },
  });
});

afterEach(async () => {
  await Promise.all(probers.splice(0).map((p) => p.stop()));
});

afterAll(async () => {
  await sim?.stop();
});

function cameraConfig(id: string): Partial<CameraConfig> & { id: string } {
  const info = sim.camera(id).info();
  return { id, host: info.host, port: info.httpPort };
}

interface Harness {
  prober: CameraProber;
  events: GatewayEvent[];
  statuses: CamerasStatusMessage[];
  thumbnails: CameraThumbnailMessage[];
  logs: string[];
}

function harness(ids: readonly string[], overrides: Record<string, unknown> = {}, opts: Partial<CameraProberOptions> = {}): Harness {
  const events: GatewayEvent[] = [];
  const statuses: CamerasStatusMessage[] = [];
  const thumbnails: CameraThumbnailMessage[] = [];
  const logs: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(line) });
  const config = CamerasConfig.parse({
    probeIntervalMs: 3_600_000,
    callTimeoutMs: 800,
    confirmAfter: 1,
    clockSkewToleranceMs: 30_000,
    snapshot: { staleAfter: 3 },
    credentials: { default: { username: 'admin', password: PASSWORD } },
    devices: ids.map(cameraConfig),
    ...overrides,
  });
  const prober = new CameraProber({
    config,
    gatewayId: 'gw-test',
    logger,
    appendEvent: (e) => events.push(e),
    publishStatus: (p) => statuses.push(JSON.parse(p) as CamerasStatusMessage),
    publishThumbnail: (p) => thumbnails.push(JSON.parse(p) as CameraThumbnailMessage),
    decoder: new InlineJpegDecoder(),
    ...opts,
  });
  probers.push(prober);
  prober.start();
  return { prober, events, statuses, thumbnails, logs };
}

const stateEvents = (h: Harness, id: string) => h.events.filter((e) => e.dev === id && /^camera\.(online|degraded|unauthorized|unreachable)$/.test(e.type));
const lastState = (h: Harness, id: string) => stateEvents(h, id).at(-1);

describe('CameraProber against the camera simulator', () => {
  it('a healthy camera is online, with its inventory forwarded once and no credentials anywhere', async () => {
    const h = harness(['healthy'], { thumbnail: { enabled: true, maxWidth: 64, maxBytes: 4096 } });
    await h.prober.probeAll();
    await h.prober.probeAll();
    expect(stateEvents(h, 'healthy')).toEqual([
      expect.objectContaining({ type: 'camera.online', severity: 'info', data: expect.objectContaining({ state: 'online', previous: 'unknown', reasons: [] }) }),
    ]);
    const inventory = h.events.filter((e) => e.type === 'camera.inventory');
    expect(inventory).toHaveLength(1);
    const info = sim.camera('healthy').info();
    expect(inventory[0]!.data).toMatchObject({ manufacturer: info.manufacturer, model: info.model, firmware: info.firmware, serial: info.serial });
    const profiles = (inventory[0]!.data as { profiles: { token: string; streamUri?: string }[] }).profiles;
    expect(profiles.map((p) => p.token)).toEqual(info.profiles.map((p) => p.token));
    expect(profiles[0]!.streamUri).toBe(info.rtspUrl);
    expect(h.prober.status()).toEqual([expect.objectContaining({ id: 'healthy', state: 'online', codec: 'JPEG', width: 160, height: 120 })]);
    expect(h.thumbnails).toHaveLength(1);
    expect(h.thumbnails[0]).toMatchObject({ cam: 'healthy', mime: 'image/jpeg', width: 64 });
    expect(h.thumbnails[0]!.data.length).toBeLessThanOrEqual(4096);
    const everything = JSON.stringify([h.events, h.statuses, h.thumbnails]) + h.logs.join('');
    expect(everything).not.toContain(PASSWORD);
  });

  it('HTTP Digest cameras (ONVIF over Digest, snapshot over Basic) are online too', async () => {
    const h = harness(['digest']);
    await h.prober.probeAll();
    expect(lastState(h, 'digest')?.type).toBe('camera.online');
  });

  it('wrong password -> unauthorized (alarm)', async () => {
    await sim.camera('wrongpw').setFault('wrong-password');
    const h = harness(['wrongpw']);
    await h.prober.probeAll();
    expect(lastState(h, 'wrongpw')).toMatchObject({ type: 'camera.unauthorized', severity: 'alarm', data: { reasons: ['onvif-auth'], code: 'EDGE_CAMERA_UNAUTHORIZED' } });
  });

  it('clock skew beyond tolerance: requests are signed with the camera time so the inventory is read, and the camera is degraded clock-skew', async () => {
    await sim.camera('skewed').setFault({ mode: 'clock-skew', skewSec: 3600 });
    const h = harness(['skewed']);
    await h.prober.probeAll();
    const ev = lastState(h, 'skewed');
    expect(ev).toMatchObject({ type: 'camera.degraded', severity: 'warning', data: { reasons: ['clock-skew'] } });
    expect((ev!.data as { clockSkewMs: number }).clockSkewMs).toBeGreaterThan(3_590_000);
    expect(h.events.some((e) => e.type === 'camera.inventory' && e.dev === 'skewed')).toBe(true);
  });

  it('SOAP that hangs -> unreachable (timeout) within the call timeout', async () => {
    await sim.camera('hang').setFault('soap-hang');
    const h = harness(['hang']);
    await h.prober.probeAll();
    expect(lastState(h, 'hang')).toMatchObject({ type: 'camera.unreachable', severity: 'warning', data: { reasons: ['timeout'], code: 'EDGE_CAMERA_TIMEOUT' } });
  });

  it('malformed XML -> degraded onvif-malformed, while the stream and snapshot are still checked with the last known URIs', async () => {
    const h = harness(['malformed']);
    await h.prober.probeAll();
    expect(lastState(h, 'malformed')?.type).toBe('camera.online');
    await sim.camera('malformed').setFault('malformed-xml');
    await h.prober.probeAll();
    expect(lastState(h, 'malformed')).toMatchObject({ type: 'camera.degraded', data: { reasons: ['onvif-malformed'], code: 'EDGE_CAMERA_BAD_RESPONSE', previous: 'online' } });
    await sim.camera('malformed').setFault('rtsp-down');
    await h.prober.probeAll();
    expect(lastState(h, 'malformed')).toMatchObject({ type: 'camera.degraded', data: { reasons: ['rtsp-down', 'onvif-malformed'] } });
  });

  it('RTSP down while ONVIF answers -> degraded rtsp-down, online again when it returns', async () => {
    const h = harness(['rtspdown']);
    await sim.camera('rtspdown').setFault('rtsp-down');
    await h.prober.probeAll();
    expect(lastState(h, 'rtspdown')).toMatchObject({ type: 'camera.degraded', data: { reasons: ['rtsp-down'], code: 'EDGE_CAMERA_CONNECT' } });
    await sim.camera('rtspdown').clearFault();
    await h.prober.probeAll();
    expect(lastState(h, 'rtspdown')).toMatchObject({ type: 'camera.online', data: { previous: 'degraded' } });
  });

  it('a frozen snapshot -> degraded snapshot-stale once it has not changed over staleAfter fetches', async () => {
    const h = harness(['frozen'], { snapshot: { staleAfter: 3, staleMinMs: 0 } });
    await sim.camera('frozen').setFault('frozen-snapshot');
    await h.prober.probeAll();
    await h.prober.probeAll();
    expect(lastState(h, 'frozen')?.type).toBe('camera.online');
    await h.prober.probeAll();
    expect(lastState(h, 'frozen')).toMatchObject({ type: 'camera.degraded', data: { reasons: ['snapshot-stale'] } });
  });

  it('reboot -> unreachable, then online when the camera is back', async () => {
    const h = harness(['reboot']);
    await h.prober.probeAll();
    const cam = sim.camera('reboot');
    await cam.setFault({ mode: 'reboot', downSec: 0.5 });
    await h.prober.probeAll();
    expect(lastState(h, 'reboot')).toMatchObject({ type: 'camera.unreachable', data: { reasons: ['connect'], code: 'EDGE_CAMERA_CONNECT' } });
    await cam.whenUp();
    await h.prober.probeAll();
    expect(stateEvents(h, 'reboot').map((e) => e.type)).toEqual(['camera.online', 'camera.unreachable', 'camera.online']);
  });

  it('a change is reported only once confirmAfter probes agree', async () => {
    const h = harness(['rtspdown'], { confirmAfter: 2 });
    await h.prober.probeAll();
    await sim.camera('rtspdown').setFault('rtsp-down');
    try {
      await h.prober.probeAll();
      expect(stateEvents(h, 'rtspdown').map((e) => e.type)).toEqual(['camera.online']);
      await h.prober.probeAll();
      expect(stateEvents(h, 'rtspdown').map((e) => e.type)).toEqual(['camera.online', 'camera.degraded']);
    } finally {
      await sim.camera('rtspdown').clearFault();
    }
  });

  it('pulls the first frame over RTP with rtsp: frame', async () => {
    const h = harness(['healthy'], { rtsp: 'frame' });
    await h.prober.probeAll();
    expect(lastState(h, 'healthy')?.type).toBe('camera.online');
  });

  it('publishes the retained status of every camera', async () => {
    const h = harness(['healthy', 'rtspdown']);
    await sim.camera('rtspdown').setFault('rtsp-down');
    try {
      await h.prober.probeAll();
    } finally {
      await sim.camera('rtspdown').clearFault();
    }
    const status = h.prober.status();
    expect(status.map((s) => [s.id, s.state, s.reasons])).toEqual([
      ['healthy', 'online', []],
      ['rtspdown', 'degraded', ['rtsp-down']],
    ]);
    expect(h.prober.stats().byState).toMatchObject({ online: 1, degraded: 1 });
  });

  it('reports devices found by WS-Discovery that are not configured cameras as camera.discovered', async () => {
    const h = harness(['healthy'], { discovery: { enabled: true, timeoutMs: 300, targets: [`127.0.0.1:${sim.discoveryPort}`] } });
    await h.prober.discoverNow();
    const found = h.events.filter((e) => e.type === 'camera.discovered');
    const infos = CAMS.map((id) => sim.camera(id).info()).filter((i) => i.up && i.id !== 'healthy');
    expect(found.map((e) => (e.data as { epr: string }).epr).sort()).toEqual(infos.map((i) => i.uuid).sort());
    expect(found[0]).toMatchObject({ severity: 'info', data: { xaddrs: [expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/onvif\/device_service$/)] } });
    await h.prober.discoverNow();
    expect(h.events.filter((e) => e.type === 'camera.discovered')).toHaveLength(found.length);
  });

  it('state changes appended to the outbox are forwarded ahead of telemetry already waiting', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cam-outbox-'));
    const outbox = new Outbox({ path: join(dir, 'outbox.db'), gatewayId: 'gw-test', maxRows: 100_000, maxBytes: 100_000_000, telemetryOverflow: 'drop-oldest', commitIntervalMs: 5, logger: pino({ level: 'silent' }) });
    outbox.start();
    try {
      outbox.appendReadings(Array.from({ length: 50 }, (_, i) => ({ dev: 'river', pt: 'level', ts: i, v: i, q: 'good' as const })));
      outbox.flush();
      const h = harness(['healthy'], {}, { appendEvent: (e) => outbox.appendEvent(e) });
      await h.prober.probeAll();
      const [first, second] = outbox.takeBatches(2, 500);
      expect(first?.stream).toBe('events');
      const types = (JSON.parse(first!.payload) as { events: GatewayEvent[] }).events.map((e) => e.type);
      expect(types).toEqual(['camera.online', 'camera.inventory']);
      expect(second?.stream).toBe('telemetry');
      expect(first!.payload).not.toContain(PASSWORD);
    } finally {
      outbox.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
