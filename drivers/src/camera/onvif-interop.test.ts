import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCameraSimulation, type CameraSimulation } from '@cityedge/simulators';
import { inspectJpeg } from './jpeg-check.js';

/**
 * Interop: node-onvif, an ONVIF client written independently of the `onvif` package our client
 * is built on (its own SOAP builder, XML parser, WS-Security and Digest code), reads the
 * simulator. If the simulator only agreed with our own client, this would fail.
 */

interface NodeOnvifProfile {
  token: string;
  name: string;
  snapshot: string;
  stream: { udp: string; http: string; rtsp: string };
  video: { encoder: { encoding: string; resolution: { width: number; height: number } } | null };
}
interface NodeOnvifDevice {
  init(): Promise<{ Manufacturer: string; Model: string; FirmwareVersion: string; SerialNumber: string; HardwareId: string }>;
  getProfileList(): NodeOnvifProfile[];
  getCurrentProfile(): NodeOnvifProfile;
  fetchSnapshot(): Promise<{ headers: Record<string, string>; body: Buffer }>;
}
const nodeOnvif = createRequire(import.meta.url)('node-onvif') as { OnvifDevice: new (p: { xaddr: string; user?: string; pass?: string }) => NodeOnvifDevice };

let sim: CameraSimulation;

beforeAll(async () => {
  sim = await startCameraSimulation({
    cameras: [
      { id: 'interop-1', username: 'admin', password: 'secret', width: 320, height: 240, model: 'SimCam S1', firmware: '2.10', serial: 'SN-000042' },
      { id: 'interop-skew', username: 'admin', password: 'secret', width: 160, height: 120, fault: { mode: 'clock-skew', skewSec: 5400 } },
    ],
    discovery: { maxDelayMs: 0 },
  });
});

afterAll(async () => {
  await sim?.stop();
});

describe('interop: node-onvif reads the camera simulator', () => {
  it('device information, profiles, stream URI and a snapshot', async () => {
    const info = sim.camera('interop-1').info();
    const device = new nodeOnvif.OnvifDevice({ xaddr: info.deviceServiceUrl, user: info.username, pass: info.password });
    const di = await device.init();
    expect(di).toMatchObject({ Manufacturer: info.manufacturer, Model: 'SimCam S1', FirmwareVersion: '2.10', SerialNumber: 'SN-000042' });
    const profiles = device.getProfileList();
    expect(profiles.map((p) => p.token)).toEqual(info.profiles.map((p) => p.token));
    const main = profiles[0]!;
    expect(main.video.encoder).toMatchObject({ encoding: 'JPEG', resolution: { width: 320, height: 240 } });
    expect(main.stream.rtsp).toBe(info.rtspUrl);
    const snap = await device.fetchSnapshot();
    expect(inspectJpeg(snap.body)).toMatchObject({ width: 320, height: 240 });
  });

  it('logs in to a camera with a skewed clock using its own time offset', async () => {
    const info = sim.camera('interop-skew').info();
    const device = new nodeOnvif.OnvifDevice({ xaddr: info.deviceServiceUrl, user: info.username, pass: info.password });
    const di = await device.init();
    expect(di.Model).toBe(info.model);
  });

  it('is refused with a wrong password', async () => {
    const info = sim.camera('interop-1').info();
    const device = new nodeOnvif.OnvifDevice({ xaddr: info.deviceServiceUrl, user: info.username, pass: 'wrong' });
    await expect(device.init()).rejects.toThrow();
  });
});
