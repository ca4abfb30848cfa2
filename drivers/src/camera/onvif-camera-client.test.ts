import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCameraSimulation, type CameraSimulation } from '@cityedge/simulators';
import { OnvifCameraClient } from './onvif-camera-client.js';
import type { CameraClient } from './camera-client.js';
import { CameraError } from './camera-error.js';
import { inspectJpeg } from './jpeg-check.js';

const LIMITS = { timeoutMs: 1500, maxResponseBytes: 256 * 1024, maxSnapshotBytes: 1024 * 1024 };

let sim: CameraSimulation;

beforeAll(async () => {
  sim = await startCameraSimulation({
    cameras: [
      { id: 'ws', username: 'admin', password: 'secret', width: 320, height: 240, fps: 5, firmware: '5.10', serial: '0012300' },
      { id: 'digest', username: 'op', password: 'pässword', auth: 'http-digest', snapshotAuth: 'basic', width: 160, height: 120, fps: 5 },
      { id: 'skewed', username: 'admin', password: 'secret', width: 160, height: 120, fault: { mode: 'clock-skew', skewSec: -7200 } },
      { id: 'faulty', username: 'admin', password: 'secret', width: 160, height: 120 },
      { id: 'utf8', username: 'người-dùng', password: 'mật-khẩu', width: 160, height: 120 },
    ],
    discovery: { maxDelayMs: 0 },
  });
});

afterAll(async () => {
  await sim?.stop();
});

function clientFor(id: string, password?: string): OnvifCameraClient {
  const info = sim.camera(id).info();
  return new OnvifCameraClient({
    endpoint: { host: info.host, port: info.httpPort, path: new URL(info.deviceServiceUrl).pathname, username: info.username, password: password ?? info.password },
    limits: LIMITS,
  });
}

async function failure(p: Promise<unknown>): Promise<CameraError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(CameraError);
    return err as CameraError;
  }
  throw new Error('expected the call to fail');
}

async function fullSession(client: CameraClient) {
  const clock = await client.getSystemDateAndTime();
  const info = await client.getDeviceInformation();
  const profiles = await client.getProfiles();
  const token = profiles[0]!.token;
  const streamUri = await client.getStreamUri(token);
  const snapshotUri = await client.getSnapshotUri(token);
  return { clock, info, profiles, streamUri, snapshotUri };
}

describe('OnvifCameraClient against the simulator', () => {
  it('reads clock, device information, profiles and URIs with WS-UsernameToken, keeping the strings exact', async () => {
    const client = clientFor('ws');
    try {
      const s = await fullSession(client);
      expect(Math.abs(s.clock.skewMs)).toBeLessThan(2000);
      expect(s.info).toMatchObject({ manufacturer: 'CityEdge Sim', model: 'SimCam S1', firmwareVersion: '5.10', serialNumber: '0012300' });
      expect(s.profiles.length).toBeGreaterThanOrEqual(1);
      expect(s.profiles[0]).toMatchObject({ encoding: 'JPEG', width: 320, height: 240 });
      expect(s.streamUri).toMatch(/^rtsp:\/\/127\.0\.0\.1:\d+\//);
      const jpeg = await client.fetchSnapshot(s.snapshotUri);
      expect(inspectJpeg(jpeg)).toMatchObject({ width: 320, height: 240 });
      const rtsp = await client.probeRtsp(s.streamUri, 'describe');
      expect(rtsp).toMatchObject({ codec: 'JPEG', payloadType: 26, width: 320, height: 240 });
    } finally {
      client.close();
    }
  });

  it('authenticates with HTTP Digest (and a non-ASCII password) where the camera uses it', async () => {
    const client = clientFor('digest');
    try {
      const s = await fullSession(client);
      expect(s.info.model).toBe('SimCam S1');
      const jpeg = await client.fetchSnapshot(s.snapshotUri);
      expect(inspectJpeg(jpeg)).toMatchObject({ width: 160, height: 120 });
    } finally {
      client.close();
    }
  });

  it('signs WS-UsernameToken digests over the UTF-8 bytes of a Vietnamese user name and password', async () => {
    const client = clientFor('utf8');
    try {
      const s = await fullSession(client);
      expect(s.info.model).toBe('SimCam S1');
    } finally {
      client.close();
    }
  });

  it('signs with the camera clock, so a camera two hours behind still accepts the login, and reports the skew', async () => {
    const client = clientFor('skewed');
    try {
      const s = await fullSession(client);
      expect(s.clock.skewMs).toBeLessThan(-7_100_000);
      expect(s.clock.skewMs).toBeGreaterThan(-7_300_000);
      expect(s.info.manufacturer).toBe('CityEdge Sim');
    } finally {
      client.close();
    }
  });

  it('a wrong password is EDGE_CAMERA_UNAUTHORIZED on ONVIF, snapshot and RTSP', async () => {
    const good = clientFor('ws');
    const s = await fullSession(good).finally(() => good.close());
    const client = clientFor('ws', 'not-the-password');
    try {
      await client.getSystemDateAndTime();
      expect((await failure(client.getDeviceInformation())).code).toBe('EDGE_CAMERA_UNAUTHORIZED');
      expect((await failure(client.fetchSnapshot(s.snapshotUri))).code).toBe('EDGE_CAMERA_UNAUTHORIZED');
      expect((await failure(client.probeRtsp(s.streamUri, 'describe'))).code).toBe('EDGE_CAMERA_UNAUTHORIZED');
    } finally {
      client.close();
    }
  });

  it('a camera whose SOAP hangs fails the call with EDGE_CAMERA_TIMEOUT', async () => {
    const cam = sim.camera('faulty');
    await cam.setFault('soap-hang');
    const client = clientFor('faulty');
    try {
      expect((await failure(client.getSystemDateAndTime())).code).toBe('EDGE_CAMERA_TIMEOUT');
    } finally {
      client.close();
      await cam.clearFault();
    }
  });

  it('malformed XML fails the call with EDGE_CAMERA_BAD_RESPONSE', async () => {
    const cam = sim.camera('faulty');
    await cam.setFault('malformed-xml');
    const client = clientFor('faulty');
    try {
      expect((await failure(client.getSystemDateAndTime())).code).toBe('EDGE_CAMERA_BAD_RESPONSE');
    } finally {
      client.close();
      await cam.clearFault();
    }
  });

  it('RTSP down while ONVIF answers: DESCRIBE fails with EDGE_CAMERA_CONNECT', async () => {
    const cam = sim.camera('faulty');
    await cam.setFault('rtsp-down');
    const client = clientFor('faulty');
    try {
      const s = await fullSession(client);
      expect((await failure(client.probeRtsp(s.streamUri, 'describe'))).code).toBe('EDGE_CAMERA_CONNECT');
    } finally {
      client.close();
      await cam.clearFault();
    }
  });

  it('pulls the first MJPEG frame over RTP interleaved and reads its size from the RFC 2435 header', async () => {
    const client = clientFor('ws');
    try {
      const s = await fullSession(client);
      const r = await client.probeRtsp(s.streamUri, 'frame');
      expect(r.frameError).toBeUndefined();
      expect(r.frame).toMatchObject({ width: 320, height: 240 });
      expect(r.frame!.packets).toBeGreaterThan(0);
    } finally {
      client.close();
    }
  });

  it('a camera that is down is EDGE_CAMERA_CONNECT', async () => {
    const client = new OnvifCameraClient({ endpoint: { host: '127.0.0.1', port: 1, path: '/onvif/device_service' }, limits: LIMITS });
    expect((await failure(client.getSystemDateAndTime())).code).toBe('EDGE_CAMERA_CONNECT');
    client.close();
  });
});
