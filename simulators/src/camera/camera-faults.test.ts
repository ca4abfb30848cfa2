import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCameraSimulation, type CameraSimulation } from './index.js';
import { digestFetch, manualClock, probeXml, RawRtspClient, securityHeader, soapEnvelope, soapPost, TDS, udpExchange } from './test-helpers.js';
import { child, parseXml } from './xml.js';

const ENV = 'http://www.w3.org/2003/05/soap-envelope';
const TT = 'http://www.onvif.org/ver10/schema';
const creds = { username: 'op', password: 'pa55' };

let sim: CameraSimulation;

beforeAll(async () => {
  sim = await startCameraSimulation({
    cameras: [
      { id: 'cam', username: 'op', password: 'pa55', width: 32, height: 32, fps: 10 },
      { id: 'born-bad', username: 'op', password: 'pa55', width: 32, height: 32, fault: ['rtsp-down', 'wrong-password', 'clock-skew:120'] },
    ],
    discovery: { maxDelayMs: 10 },
  });
});
afterAll(() => sim.stop());

const info = (id = 'cam') => sim.camera(id).info();
const deviceInfo = (header: string, id = 'cam') => soapPost(info(id).deviceServiceUrl, soapEnvelope('<tds:GetDeviceInformation/>', header));

function refused(port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => {
      s.destroy();
      resolve('connected');
    });
    s.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
  });
}

async function rtspDescribe(id = 'cam'): Promise<number> {
  const client = await RawRtspClient.connect(info(id).rtspPort);
  try {
    return (await client.authed('DESCRIBE', info(id).rtspUrl, 'op', 'pa55')).status;
  } finally {
    client.close();
  }
}

/** The camera's UTC time from GetSystemDateAndTime (seconds resolution). */
async function cameraTime(id = 'cam'): Promise<number> {
  const res = await soapPost(info(id).deviceServiceUrl, soapEnvelope('<tds:GetSystemDateAndTime/>'));
  const utc = child(child(child(child(parseXml(res.text), ENV, 'Body')?.children[0], TDS, 'SystemDateAndTime'), TT, 'UTCDateTime'), TT, 'Date');
  const time = child(child(child(child(parseXml(res.text), ENV, 'Body')?.children[0], TDS, 'SystemDateAndTime'), TT, 'UTCDateTime'), TT, 'Time');
  const n = (el: typeof utc, k: string) => Number(child(el, TT, k)?.text);
  return Date.UTC(n(utc, 'Year'), n(utc, 'Month') - 1, n(utc, 'Day'), n(time, 'Hour'), n(time, 'Minute'), n(time, 'Second'));
}

describe('camera fault modes', () => {
  it('wrong-password: ONVIF, snapshot and RTSP refuse the configured password until cleared', async () => {
    const cam = sim.camera('cam');
    await cam.setFault('wrong-password');
    expect((await deviceInfo(securityHeader(creds))).status).toBe(400);
    expect((await digestFetch(info().snapshotUrl, 'op', 'pa55')).status).toBe(401);
    expect(await rtspDescribe()).toBe(401);
    expect(info().faults).toEqual([{ mode: 'wrong-password' }]);
    await cam.clearFault('wrong-password');
    expect((await deviceInfo(securityHeader(creds))).status).toBe(200);
    expect(await rtspDescribe()).toBe(200);
  });

  it('clock-skew: the camera reports its own time; signing with the local clock fails, with the camera clock works', async () => {
    const cam = sim.camera('cam');
    await cam.setFault({ mode: 'clock-skew', skewSec: 600 });
    const skew = (await cameraTime()) - Date.now();
    expect(Math.abs(skew - 600_000)).toBeLessThan(3000);
    const date = (await soapPost(info().deviceServiceUrl, soapEnvelope('<tds:GetSystemDateAndTime/>'))).headers.get('date');
    expect(Math.abs(Date.parse(date ?? '') - Date.now() - 600_000)).toBeLessThan(3000);
    expect((await deviceInfo(securityHeader(creds))).status).toBe(400);
    expect((await deviceInfo(securityHeader({ ...creds, createdMs: Date.now() + skew }))).status).toBe(200);
    expect(info().stats.authFailures['clock-skew']).toBeGreaterThanOrEqual(1);
    await cam.clearFault();
  });

  it('soap-hang: SOAP requests are never answered while the snapshot still works', async () => {
    const cam = sim.camera('cam');
    await cam.setFault('soap-hang');
    await expect(soapPost(info().deviceServiceUrl, soapEnvelope('<tds:GetSystemDateAndTime/>'), {}, 300)).rejects.toThrow();
    expect((await digestFetch(info().snapshotUrl, 'op', 'pa55')).status).toBe(200);
    await cam.clearFault('soap-hang');
    expect((await soapPost(info().deviceServiceUrl, soapEnvelope('<tds:GetSystemDateAndTime/>'))).status).toBe(200);
  });

  it('malformed-xml: SOAP answers are HTTP 200 that no XML parser accepts', async () => {
    const cam = sim.camera('cam');
    await cam.setFault('malformed-xml');
    const res = await soapPost(info().deviceServiceUrl, soapEnvelope('<tds:GetSystemDateAndTime/>'));
    expect(res.status).toBe(200);
    expect(res.text.length).toBeGreaterThan(20);
    expect(() => parseXml(res.text)).toThrow();
    await cam.clearFault();
    const ok = await soapPost(info().deviceServiceUrl, soapEnvelope('<tds:GetSystemDateAndTime/>'));
    expect(parseXml(ok.text).local).toBe('Envelope');
  });

  it('rtsp-down: the RTSP port refuses connections and drops sessions while ONVIF answers; back on the same port', async () => {
    const cam = sim.camera('cam');
    const client = await RawRtspClient.connect(info().rtspPort);
    const port = info().rtspPort;
    await cam.setFault('rtsp-down');
    await client.until(() => client.closed).catch(() => undefined);
    expect(client.closed).toBe(true);
    expect(await refused(port)).toBe('ECONNREFUSED');
    expect((await deviceInfo(securityHeader(creds))).status).toBe(200);
    await cam.clearFault('rtsp-down');
    expect(info().rtspPort).toBe(port);
    expect(await rtspDescribe()).toBe(200);
  });

  it('applies faults from the spec at start', async () => {
    expect(info('born-bad').faults.map((f) => f.mode).sort()).toEqual(['clock-skew', 'rtsp-down', 'wrong-password']);
    // Started rtsp-down, the camera still names the port its stream will be on.
    expect(info('born-bad').rtspPort).toBeGreaterThan(0);
    expect(info('born-bad').rtspUrl).toBe(`rtsp://127.0.0.1:${info('born-bad').rtspPort}/stream1`);
    expect(await refused(info('born-bad').rtspPort)).toBe('ECONNREFUSED');
    const skew = (await cameraTime('born-bad')) - Date.now();
    expect((await deviceInfo(securityHeader({ ...creds, createdMs: Date.now() + skew }), 'born-bad')).status).toBe(400);
  });

  it('rejects an invalid fault with SIM_BAD_VALUE', async () => {
    await expect(sim.camera('cam').setFault('melting')).rejects.toMatchObject({ code: 'SIM_BAD_VALUE' });
    await expect(sim.camera('cam').setFault('rtsp-down:3')).rejects.toMatchObject({ code: 'SIM_BAD_VALUE' });
  });
});

describe('reboot fault', () => {
  it('closes every service for downSec, then comes back on the same ports with a new boot time', async () => {
    const clock = manualClock(Date.now());
    const rsim = await startCameraSimulation({ cameras: [{ id: 'r', width: 32, height: 32 }], discovery: { maxDelayMs: 5 } }, { clock });
    try {
      const cam = rsim.camera('r');
      const before = cam.info();
      const instanceId = async () => /InstanceId="(\d+)"/.exec((await udpExchange(before.discoveryPort ?? 0, probeXml(), 1000))[0]?.toString() ?? '')?.[1];
      const firstInstance = await instanceId();
      expect(firstInstance).toBeDefined();
      await cam.setFault({ mode: 'reboot', downSec: 0.3 });
      expect(cam.info().up).toBe(false);
      expect(await refused(before.httpPort)).toBe('ECONNREFUSED');
      expect(await refused(before.rtspPort)).toBe('ECONNREFUSED');
      expect(await udpExchange(rsim.discoveryPort, probeXml(), 50)).toHaveLength(0);
      clock.advance(30_000);
      await cam.whenUp();
      const after = cam.info();
      expect(after).toMatchObject({ up: true, httpPort: before.httpPort, rtspPort: before.rtspPort, discoveryPort: before.discoveryPort, faults: [] });
      expect(after.bootTime).toBeGreaterThan(before.bootTime);
      expect(after.stats.boots).toBe(2);
      expect((await soapPost(after.deviceServiceUrl, soapEnvelope('<tds:GetSystemDateAndTime/>'))).status).toBe(200);
      expect(Number(await instanceId())).toBeGreaterThan(Number(firstInstance));
    } finally {
      await rsim.stop();
    }
  });

  it('comes back at once when the reboot fault is cleared', async () => {
    const rsim = await startCameraSimulation({ cameras: [{ id: 'r', width: 32, height: 32, fault: 'reboot:600' }] });
    try {
      const cam = rsim.camera('r');
      expect(cam.info().up).toBe(false);
      await cam.clearFault('reboot');
      expect(cam.info().up).toBe(true);
      expect((await soapPost(cam.info().deviceServiceUrl, soapEnvelope('<tds:GetSystemDateAndTime/>'))).status).toBe(200);
    } finally {
      await rsim.stop();
    }
  });
});
