import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CamerasConfig, type CameraConfig, type GatewayEvent } from '@cityedge/contract';
import { InlineJpegDecoder } from '@cityedge/drivers/camera';
import { startCameraSimulation, type CameraSimulation } from '@cityedge/simulators';
import { CameraProber } from './camera-prober.js';

/**
 * Cameras without ONVIF (onvif: false, or only an rtspUrl): checked by their RTSP URL and
 * snapshot URL against the camera simulator over real sockets, with the same states as ONVIF
 * cameras. Each probe is run explicitly (probeAll): nothing depends on timing.
 */

const PASSWORD = 'Rtsp-0nly!';
const CAMS = ['plain', 'nosnap', 'wrongpw', 'down', 'frozen'] as const;
let sim: CameraSimulation;
const probers: CameraProber[] = [];

beforeAll(async () => {
  sim = await startCameraSimulation({ cameras: CAMS.map((id) => ({ id, username: 'viewer', password: PASSWORD, width: 160, height: 120, fps: 30, discovery: false })) });
});
afterEach(async () => {
  await Promise.all(probers.splice(0).map((p) => p.stop()));
});
afterAll(async () => {
  await sim?.stop();
});

function entry(id: string, withSnapshot = true): Partial<CameraConfig> & { id: string } {
  const info = sim.camera(id).info();
  return { id, rtspUrl: info.rtspUrl, ...(withSnapshot && { snapshotUrl: info.snapshotUrl }) };
}

function harness(devices: Array<Record<string, unknown>>, overrides: Record<string, unknown> = {}) {
  const events: GatewayEvent[] = [];
  const logs: string[] = [];
  const config = CamerasConfig.parse({ probeIntervalMs: 3_600_000, callTimeoutMs: 800, confirmAfter: 1, credentials: { default: { username: 'viewer', password: PASSWORD } }, devices, ...overrides });
  const prober = new CameraProber({
    config,
    gatewayId: 'gw-test',
    logger: pino({ level: 'debug' }, { write: (line: string) => void logs.push(line) }),
    appendEvent: (e) => events.push(e),
    decoder: new InlineJpegDecoder(),
  });
  probers.push(prober);
  prober.start();
  return { prober, config, events, logs };
}

const lastState = (events: GatewayEvent[], id: string) => events.filter((e) => e.dev === id && e.type !== 'camera.inventory').at(-1);

describe('cameras without ONVIF, against the camera simulator', () => {
  it('RTSP DESCRIBE and the snapshot (both Digest) -> online, with the codec and size and an inventory of the configured URIs, no password anywhere', async () => {
    const h = harness([entry('plain')]);
    await h.prober.probeAll();
    expect(lastState(h.events, 'plain')).toMatchObject({ type: 'camera.online', data: { state: 'online', reasons: [] } });
    expect(h.prober.status()).toEqual([expect.objectContaining({ id: 'plain', state: 'online', codec: 'JPEG', width: 160, height: 120 })]);
    const info = sim.camera('plain').info();
    expect(h.events.find((e) => e.type === 'camera.inventory')?.data).toEqual({ source: 'rtsp', profiles: [], streamUri: info.rtspUrl, snapshotUri: info.snapshotUrl });
    // Only the configured URLs are used: the ONVIF service is never asked.
    expect(info.stats.soapRequests).toBe(0);
    expect(JSON.stringify(h.events) + h.logs.join('')).not.toContain(PASSWORD);
  });

  it('host with onvif: false is probed by its URLs too, and the first frame is pulled with rtsp: frame', async () => {
    const h = harness([{ ...entry('plain'), host: '127.0.0.1', onvif: false, rtsp: 'frame' }]);
    await h.prober.probeAll();
    expect(lastState(h.events, 'plain')?.type).toBe('camera.online');
    expect(sim.camera('plain').info().stats.soapRequests).toBe(0);
  });

  it('wrong password -> unauthorized, naming both services that refused it', async () => {
    await sim.camera('wrongpw').setFault('wrong-password');
    const h = harness([entry('wrongpw')]);
    await h.prober.probeAll();
    expect(lastState(h.events, 'wrongpw')).toMatchObject({ type: 'camera.unauthorized', severity: 'alarm', data: { reasons: ['rtsp-auth', 'snapshot-auth'], code: 'EDGE_CAMERA_UNAUTHORIZED' } });
  });

  it('RTSP down: degraded rtsp-down while the snapshot answers; unreachable when RTSP is all there is; unreachable when the camera is off', async () => {
    const cam = sim.camera('down');
    await cam.setFault('rtsp-down');
    try {
      const h = harness([entry('down'), { ...entry('down', false), id: 'down-rtsp-only' }]);
      await h.prober.probeAll();
      expect(lastState(h.events, 'down')).toMatchObject({ type: 'camera.degraded', data: { reasons: ['rtsp-down'], code: 'EDGE_CAMERA_CONNECT' } });
      expect(lastState(h.events, 'down-rtsp-only')).toMatchObject({ type: 'camera.unreachable', data: { reasons: ['connect'], code: 'EDGE_CAMERA_CONNECT' } });
      await cam.setFault({ mode: 'reboot', downSec: 600 });
      await h.prober.probeAll();
      expect(lastState(h.events, 'down')).toMatchObject({ type: 'camera.unreachable', data: { previous: 'degraded', reasons: ['connect'] } });
      await cam.clearFault();
      await h.prober.probeAll();
      expect(lastState(h.events, 'down')).toMatchObject({ type: 'camera.online', data: { previous: 'unreachable' } });
    } finally {
      await cam.clearFault();
    }
  });

  it('a frozen picture -> degraded snapshot-stale', async () => {
    await sim.camera('frozen').setFault('frozen-snapshot');
    const h = harness([entry('frozen')], { snapshot: { staleAfter: 2, staleMinMs: 0 } });
    await h.prober.probeAll();
    await h.prober.probeAll();
    expect(lastState(h.events, 'frozen')).toMatchObject({ type: 'camera.degraded', data: { reasons: ['snapshot-stale'] } });
  });

  it('a URL the probe cannot use (a configuration that bypassed the schema) -> misconfigured invalid-config, the other cameras probed', async () => {
    const h = harness([entry('nosnap', false), entry('plain')]);
    await h.prober.stop();
    const cfg = structuredClone(h.config);
    (cfg.devices[0] as { rtspUrl: string }).rtspUrl = 'http://127.0.0.1:1/not-rtsp';
    const events: GatewayEvent[] = [];
    const prober = new CameraProber({ config: cfg, gatewayId: 'gw-test', logger: pino({ level: 'silent' }), appendEvent: (e) => events.push(e), decoder: new InlineJpegDecoder() });
    probers.push(prober);
    prober.start();
    await prober.probeAll();
    expect(lastState(events, 'nosnap')).toMatchObject({ type: 'camera.misconfigured', data: { reasons: ['invalid-config'], code: 'EDGE_CAMERA_CONFIG', detail: 'cameras.devices[0]: RTSP: unsupported scheme http:' } });
    expect(lastState(events, 'plain')?.type).toBe('camera.online');
  });
});
