import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CamerasConfig, type GatewayEvent } from '@cityedge/contract';
import { CameraError, InlineJpegDecoder, type CameraClient } from '@cityedge/drivers';
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

  it('refuses to start when a password file cannot be read, naming the field', () => {
    const prober = new CameraProber({
      config: CamerasConfig.parse({ credentials: { default: { username: 'u', passwordFile: '/nonexistent/cam-pw' } }, devices: [{ id: 'a', host: 'a.local' }] }),
      gatewayId: 'gw-1',
      logger: pino({ level: 'silent' }),
      appendEvent: () => undefined,
      decoder: new InlineJpegDecoder(),
    });
    expect(() => prober.start()).toThrow(expect.objectContaining({ code: 'EDGE_CAMERA_CONFIG', message: 'cameras.credentials.default.passwordFile: cannot read "/nonexistent/cam-pw" (ENOENT)' }));
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
