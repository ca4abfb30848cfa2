import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CamerasConfig, type GatewayEvent } from '@cityedge/contract';
import { CameraError, InlineJpegDecoder, type CameraClient } from '@cityedge/drivers/camera';
import { CameraProber } from './camera-prober.js';

/**
 * Scheduling logic with fake timers and an in-memory camera client (logic only: the camera
 * protocols are tested over real sockets in camera-prober.test.ts).
 */

function fakeClient(id: string, calls: string[], health: { up: boolean }): CameraClient {
  return {
    getSystemDateAndTime: async () => {
      calls.push(id);
      if (!health.up) throw new CameraError('EDGE_CAMERA_CONNECT', 'refused');
      return { cameraTime: Date.now(), skewMs: 0 };
    },
    getDeviceInformation: async () => ({ manufacturer: 'M', model: 'X', firmwareVersion: '1', serialNumber: id, hardwareId: undefined }),
    getProfiles: async () => [{ token: 'P1' }],
    getStreamUri: async () => 'rtsp://cam/s1',
    getSnapshotUri: async () => 'http://cam/snap',
    fetchSnapshot: async () => Buffer.alloc(0),
    probeRtsp: async () => ({ codec: 'H264', payloadType: 96, clockRate: 90000 }),
    close: () => undefined,
  };
}

const INTERVAL = 60_000;

function setup(ids: string[], overrides: Record<string, unknown> = {}) {
  const calls: string[] = [];
  const events: GatewayEvent[] = [];
  const health = new Map(ids.map((id) => [id, { up: true }]));
  const prober = new CameraProber({
    config: CamerasConfig.parse({ probeIntervalMs: INTERVAL, rtsp: 'off', snapshot: { enabled: false }, devices: ids.map((id) => ({ id, host: `${id}.local` })), ...overrides }),
    gatewayId: 'gw-1',
    logger: pino({ level: 'silent' }),
    appendEvent: (e) => events.push(e),
    decoder: new InlineJpegDecoder(),
    clientFactory: (c) => fakeClient(c.id, calls, health.get(c.id)!),
  });
  return { prober, calls, events, health };
}

describe('CameraProber scheduling', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('spreads the cameras evenly over the interval and probes each once per interval', async () => {
    const { prober, calls } = setup(['a', 'b', 'c', 'd']);
    prober.start();
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toEqual(['a']);
    await vi.advanceTimersByTimeAsync(15_000);
    expect(calls).toEqual(['a', 'b']);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(calls).toEqual(['a', 'b', 'c', 'd']);
    await vi.advanceTimersByTimeAsync(INTERVAL);
    expect(calls).toEqual(['a', 'b', 'c', 'd', 'a', 'b', 'c', 'd']);
    await prober.stop();
  });

  it('re-checks a camera sooner while a change waits for confirmation', async () => {
    const { prober, calls, events, health } = setup(['a'], { confirmAfter: 2 });
    prober.start();
    await vi.advanceTimersByTimeAsync(1);
    expect(events.map((e) => e.type)).toEqual(['camera.online', 'camera.inventory']);
    health.get('a')!.up = false;
    await vi.advanceTimersByTimeAsync(INTERVAL);
    expect(calls).toHaveLength(2);
    expect(events.map((e) => e.type)).toEqual(['camera.online', 'camera.inventory']);
    await vi.advanceTimersByTimeAsync(INTERVAL / 4);
    expect(calls).toHaveLength(3);
    expect(events.at(-1)).toMatchObject({ type: 'camera.unreachable', dev: 'a', data: { previous: 'online', reasons: ['connect'] } });
    await prober.stop();
  });

  it('stop() clears every timer and nothing is probed afterwards', async () => {
    const { prober, calls } = setup(['a', 'b'], { discovery: { enabled: true, targets: ['127.0.0.1:9'] } });
    prober.start();
    await vi.advanceTimersByTimeAsync(1);
    await prober.stop();
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(10 * INTERVAL);
    expect(calls).toEqual(['a']);
  });

  it('an unreadable password file marks only the cameras using it misconfigured, and they recover once the file is readable', async () => {
    const calls: string[] = [];
    const events: GatewayEvent[] = [];
    const statuses: string[] = [];
    const files = new Map<string, string>();
    const prober = new CameraProber({
      config: CamerasConfig.parse({
        probeIntervalMs: INTERVAL,
        confirmAfter: 1,
        rtsp: 'off',
        snapshot: { enabled: false },
        credentials: { default: { username: 'u', password: 'pw' }, site: { username: 'u', passwordFile: '/etc/cityedge/site-pw' } },
        devices: [
          { id: 'a', host: 'a.local', credentials: 'site' },
          { id: 'b', host: 'b.local' },
        ],
      }),
      gatewayId: 'gw-1',
      logger: pino({ level: 'silent' }),
      appendEvent: (e) => events.push(e),
      publishStatus: (p) => statuses.push(p),
      decoder: new InlineJpegDecoder(),
      readFile: (path) => {
        const text = files.get(path);
        if (text === undefined) throw Object.assign(new Error('no such file'), { code: 'ENOENT' });
        return text;
      },
      clientFactory: (c) => fakeClient(c.id, calls, { up: true }),
    });
    prober.start();
    // At start, before any network: camera a is misconfigured, with the config path and file.
    const detail = 'cameras.credentials.site.passwordFile: cannot read "/etc/cityedge/site-pw" (ENOENT)';
    expect(events).toEqual([
      expect.objectContaining({
        type: 'camera.misconfigured',
        dev: 'a',
        severity: 'warning',
        message: `camera a is misconfigured: credentials-unreadable (${detail})`,
        data: { state: 'misconfigured', previous: 'unknown', reasons: ['credentials-unreadable'], code: 'EDGE_CAMERA_CONFIG', detail },
      }),
    ]);
    // The retained status follows the change within its debounce (2 s).
    await vi.advanceTimersByTimeAsync(2001);
    expect(JSON.parse(statuses[0] ?? '{}')).toMatchObject({ cameras: [{ id: 'a', state: 'misconfigured', reasons: ['credentials-unreadable'], detail }] });
    await vi.advanceTimersByTimeAsync(INTERVAL / 2);
    expect(calls).toEqual(['b']);
    expect(prober.status()).toEqual([
      expect.objectContaining({ id: 'a', state: 'misconfigured', reasons: ['credentials-unreadable'], detail }),
      expect.objectContaining({ id: 'b', state: 'online' }),
    ]);
    expect(prober.stats().byState).toMatchObject({ misconfigured: 1, online: 1 });
    // The technician puts the file in place: the next probe of a reads it and goes on.
    files.set('/etc/cityedge/site-pw', 'n3w-pw\n');
    await vi.advanceTimersByTimeAsync(INTERVAL);
    expect(calls).toContain('a');
    expect(events.filter((e) => e.dev === 'a').map((e) => e.type)).toEqual(['camera.misconfigured', 'camera.online', 'camera.inventory']);
    expect(prober.status().find((s) => s.id === 'a')).not.toHaveProperty('detail');
    await prober.stop();
  });

  it('a camera whose client cannot be built is misconfigured, naming its entry', async () => {
    const events: GatewayEvent[] = [];
    const prober = new CameraProber({
      config: CamerasConfig.parse({ probeIntervalMs: INTERVAL, rtsp: 'off', snapshot: { enabled: false }, devices: [{ id: 'a', host: 'a.local' }, { id: 'b', host: 'b.local' }] }),
      gatewayId: 'gw-1',
      logger: pino({ level: 'silent' }),
      appendEvent: (e) => events.push(e),
      decoder: new InlineJpegDecoder(),
      clientFactory: (c) => {
        if (c.id === 'b') throw new Error('host: not usable');
        return fakeClient(c.id, [], { up: true });
      },
    });
    prober.start();
    expect(events).toEqual([expect.objectContaining({ type: 'camera.misconfigured', dev: 'b', data: expect.objectContaining({ reasons: ['invalid-config'], detail: 'cameras.devices[1]: host: not usable' }) })]);
    await prober.stop();
  });

  it('a throwing event sink does not stop probing', async () => {
    const calls: string[] = [];
    const prober = new CameraProber({
      config: CamerasConfig.parse({ probeIntervalMs: INTERVAL, rtsp: 'off', snapshot: { enabled: false }, devices: [{ id: 'a', host: 'a.local' }] }),
      gatewayId: 'gw-1',
      logger: pino({ level: 'silent' }),
      appendEvent: () => {
        throw new Error('disk full');
      },
      decoder: new InlineJpegDecoder(),
      clientFactory: (c) => fakeClient(c.id, calls, { up: true }),
    });
    prober.start();
    await vi.advanceTimersByTimeAsync(2 * INTERVAL + 1);
    expect(calls).toEqual(['a', 'a', 'a']);
    await prober.stop();
  });
});
