import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCameraSimulation, type CameraSimulation } from './index.js';

/**
 * Two independent ONVIF client libraries read the simulator: node-onvif (root devDependency)
 * and onvif (agsh/onvif). Both measure the camera clock and sign with it, so a skewed camera
 * still works for them, while a rotated password does not.
 */
interface NodeOnvifDevice {
  init(): Promise<{ Manufacturer: string; Model: string; FirmwareVersion: string; SerialNumber: string; HardwareId: string }>;
  getUdpStreamUrl(): string;
  getProfileList(): Array<{ token: string; video: { encoder: { encoding: string; resolution: { width: number; height: number } } } }>;
  fetchSnapshot(): Promise<{ headers: Record<string, string>; body: Buffer }>;
}
interface AgshCam {
  profiles: unknown[];
  getDeviceInformation(cb: (err: Error | null, info: Record<string, string>) => void): void;
  getStreamUri(opts: { protocol: string; profileToken?: string }, cb: (err: Error | null, r: { uri: string }) => void): void;
  getSnapshotUri(opts: object, cb: (err: Error | null, r: { uri: string }) => void): void;
}

const require = createRequire(import.meta.url);
const NodeOnvif = require('node-onvif') as { OnvifDevice: new (p: { xaddr: string; user: string; pass: string }) => NodeOnvifDevice };
const agsh = require('onvif') as { Cam: new (opts: object, cb: (err: Error | null) => void) => AgshCam };

let sim: CameraSimulation;

beforeAll(async () => {
  sim = await startCameraSimulation({
    cameras: [
      { id: 'cam', manufacturer: 'Acme', model: 'Eye-200', firmware: '5.1.0', serial: 'SN-42', username: 'admin', password: 's3cret', width: 160, height: 120, fault: 'clock-skew:900' },
      { id: 'rotated', username: 'admin', password: 's3cret', width: 32, height: 32, fault: 'wrong-password' },
    ],
  });
});
afterAll(() => sim.stop());

function agshConnect(id: string): Promise<AgshCam> {
  const info = sim.camera(id).info();
  return new Promise((resolve, reject) => {
    const cam = new agsh.Cam({ hostname: '127.0.0.1', port: info.httpPort, path: '/onvif/device_service', username: 'admin', password: 's3cret', timeout: 3000 }, (err) => (err ? reject(err) : resolve(cam)));
  });
}

describe('independent ONVIF clients read the simulated camera', () => {
  it('node-onvif: device information, profiles, stream URI and snapshot (HTTP Digest)', async () => {
    const info = sim.camera('cam').info();
    const dev = new NodeOnvif.OnvifDevice({ xaddr: info.deviceServiceUrl, user: 'admin', pass: 's3cret' });
    expect(await dev.init()).toMatchObject({ Manufacturer: 'Acme', Model: 'Eye-200', FirmwareVersion: '5.1.0', SerialNumber: 'SN-42' });
    expect(dev.getUdpStreamUrl()).toBe(info.rtspUrl);
    expect(dev.getProfileList().map((p) => [p.token, p.video.encoder.encoding, p.video.encoder.resolution.width])).toEqual([
      ['Profile_1', 'JPEG', 160],
      ['Profile_2', 'JPEG', 80],
    ]);
    const snap = await dev.fetchSnapshot();
    expect(snap.headers['content-type']).toBe('image/jpeg');
    expect(snap.body.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
  });

  it('onvif (agsh): connect (GetSystemDateAndTime, GetServices, GetProfiles, GetVideoSources), then URIs', async () => {
    const info = sim.camera('cam').info();
    const cam = await agshConnect('cam');
    expect(cam.profiles).toHaveLength(2);
    const dev = await new Promise<Record<string, string>>((res, rej) => cam.getDeviceInformation((e, r) => (e ? rej(e) : res(r))));
    expect(dev).toMatchObject({ manufacturer: 'Acme', serialNumber: 'SN-42' });
    const stream = await new Promise<{ uri: string }>((res, rej) => cam.getStreamUri({ protocol: 'RTSP' }, (e, r) => (e ? rej(e) : res(r))));
    expect(stream.uri).toBe(info.rtspUrl);
    const snap = await new Promise<{ uri: string }>((res, rej) => cam.getSnapshotUri({}, (e, r) => (e ? rej(e) : res(r))));
    expect(snap.uri).toBe(info.snapshotUrl);
  });

  it('both are refused when the camera password was rotated', async () => {
    const dev = new NodeOnvif.OnvifDevice({ xaddr: sim.camera('rotated').info().deviceServiceUrl, user: 'admin', pass: 's3cret' });
    await expect(dev.init()).rejects.toThrow();
    const cam = await agshConnect('rotated').catch((err: unknown) => err);
    const err = cam instanceof Error ? cam : await new Promise<unknown>((res) => (cam as AgshCam).getDeviceInformation((e) => res(e)));
    expect(String(err)).toMatch(/NotAuthorized|not Authorized/i);
  });
});
