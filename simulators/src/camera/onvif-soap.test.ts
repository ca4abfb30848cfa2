import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCameraSimulation, type CameraSimulation } from './index.js';
import { digestAuthorization, parseChallenge, securityHeader, soapEnvelope, soapPost, TDS, TRT } from './test-helpers.js';
import { child, childText, parseXml, type XmlElement } from './xml.js';

const ENV = 'http://www.w3.org/2003/05/soap-envelope';
const TT = 'http://www.onvif.org/ver10/schema';
const TER = 'http://www.onvif.org/ver10/error';

let sim: CameraSimulation;

beforeAll(async () => {
  sim = await startCameraSimulation({
    cameras: [
      { id: 'ws', manufacturer: 'Acme', model: 'Eye-200', firmware: '5.1.0', serial: 'SN-42', hardwareId: 'HW-7', username: 'op', password: 'pa55', width: 64, height: 48 },
      { id: 'norep', username: 'op', password: 'pa55', width: 64, height: 48, nonceReplayCheck: false, acceptPasswordText: true },
      { id: 'hd', username: 'op', password: 'pa55', auth: 'http-digest', width: 64, height: 48 },
      { id: 'any', username: 'op', password: 'pa55', auth: 'any', width: 64, height: 48 },
    ],
  });
});
afterAll(() => sim.stop());

const url = (id: string) => sim.camera(id).info().deviceServiceUrl;
const creds = { username: 'op', password: 'pa55' };

function body(text: string): XmlElement {
  const doc = parseXml(text);
  expect(doc.ns).toBe(ENV);
  expect(doc.local).toBe('Envelope');
  const b = child(doc, ENV, 'Body')?.children[0];
  if (!b) throw new Error('empty body');
  return b;
}

function faultCodes(text: string): { code: string | undefined; sub: string | undefined } {
  const fault = body(text);
  expect(fault.local).toBe('Fault');
  const code = child(fault, ENV, 'Code');
  return { code: childText(code, [ENV, 'Value']), sub: childText(code, [ENV, 'Subcode'], [ENV, 'Value']) };
}

async function call(id: string, op: string, header = '', extra: Record<string, string> = {}) {
  return soapPost(url(id), soapEnvelope(op, header), extra);
}

describe('ONVIF device and media services over SOAP 1.2', () => {
  it('answers GetSystemDateAndTime without login, in UTC from the camera clock', async () => {
    const res = await call('ws', '<tds:GetSystemDateAndTime/>');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/soap+xml');
    const utc = child(child(body(res.text), TDS, 'SystemDateAndTime'), TT, 'UTCDateTime');
    const n = (path: Array<[string, string]>) => Number(childText(utc, ...path));
    const at = Date.UTC(n([[TT, 'Date'], [TT, 'Year']]), n([[TT, 'Date'], [TT, 'Month']]) - 1, n([[TT, 'Date'], [TT, 'Day']]), n([[TT, 'Time'], [TT, 'Hour']]), n([[TT, 'Time'], [TT, 'Minute']]), n([[TT, 'Time'], [TT, 'Second']]));
    expect(Math.abs(at - Date.now())).toBeLessThan(5000);
  });

  it('answers GetCapabilities and GetServices without login with the service addresses', async () => {
    const info = sim.camera('ws').info();
    const caps = child(body((await call('ws', '<tds:GetCapabilities><tds:Category>All</tds:Category></tds:GetCapabilities>')).text), TDS, 'Capabilities');
    expect(childText(caps, [TT, 'Device'], [TT, 'XAddr'])).toBe(info.deviceServiceUrl);
    expect(childText(caps, [TT, 'Media'], [TT, 'XAddr'])).toBe(info.mediaServiceUrl);
    expect(childText(caps, [TT, 'Media'], [TT, 'StreamingCapabilities'], [TT, 'RTP_RTSP_TCP'])).toBe('true');
    const services = body((await call('ws', '<tds:GetServices><tds:IncludeCapability>false</tds:IncludeCapability></tds:GetServices>')).text).children;
    expect(services.map((s) => childText(s, [TDS, 'Namespace']))).toEqual([TDS, TRT]);
    expect(services.map((s) => childText(s, [TDS, 'XAddr']))).toEqual([info.deviceServiceUrl, info.mediaServiceUrl]);
  });

  it('answers GetDeviceInformation, GetProfiles, GetStreamUri and GetSnapshotUri with a correct PasswordDigest', async () => {
    const info = sim.camera('ws').info();
    const dev = body((await call('ws', '<tds:GetDeviceInformation/>', securityHeader(creds))).text);
    expect(dev.local).toBe('GetDeviceInformationResponse');
    expect(['Manufacturer', 'Model', 'FirmwareVersion', 'SerialNumber', 'HardwareId'].map((k) => childText(dev, [TDS, k]))).toEqual(['Acme', 'Eye-200', '5.1.0', 'SN-42', 'HW-7']);

    const profiles = body((await soapPost(info.mediaServiceUrl, soapEnvelope('<trt:GetProfiles/>', securityHeader(creds)))).text).children;
    expect(profiles.map((p) => p.attrs.get('token'))).toEqual(['Profile_1', 'Profile_2']);
    const enc = child(profiles[0], TT, 'VideoEncoderConfiguration');
    expect(childText(enc, [TT, 'Encoding'])).toBe('JPEG');
    expect([childText(enc, [TT, 'Resolution'], [TT, 'Width']), childText(enc, [TT, 'Resolution'], [TT, 'Height'])]).toEqual(['64', '48']);

    const setup = '<trt:StreamSetup><tt:Stream>RTP-Unicast</tt:Stream><tt:Transport><tt:Protocol>RTSP</tt:Protocol></tt:Transport></trt:StreamSetup>';
    const stream = body((await soapPost(info.mediaServiceUrl, soapEnvelope(`<trt:GetStreamUri>${setup}<trt:ProfileToken>Profile_1</trt:ProfileToken></trt:GetStreamUri>`, securityHeader(creds)))).text);
    expect(childText(stream, [TRT, 'MediaUri'], [TT, 'Uri'])).toBe(info.rtspUrl);
    const snap = body((await soapPost(info.mediaServiceUrl, soapEnvelope('<trt:GetSnapshotUri><trt:ProfileToken>Profile_2</trt:ProfileToken></trt:GetSnapshotUri>', securityHeader(creds)))).text);
    expect(childText(snap, [TRT, 'MediaUri'], [TT, 'Uri'])).toBe(info.profiles[1]?.snapshotUrl);
  });

  it.each([
    ['no token', () => ''],
    ['a wrong password', () => securityHeader({ ...creds, password: 'nope' })],
    ['an unknown user', () => securityHeader({ ...creds, username: 'root' })],
    ['no nonce', () => securityHeader({ ...creds, omitNonce: true })],
    ['no Created', () => securityHeader({ ...creds, omitCreated: true })],
    ['Created 60 s ahead of the camera (tolerance 10 s)', () => securityHeader({ ...creds, createdMs: Date.now() + 60_000 })],
    ['Created 60 s behind the camera', () => securityHeader({ ...creds, createdMs: Date.now() - 60_000 })],
    ['a PasswordText token', () => securityHeader({ ...creds, passwordText: true })],
  ])('refuses %s with HTTP 400 env:Sender / ter:NotAuthorized', async (_what, header) => {
    const res = await call('ws', '<tds:GetDeviceInformation/>', header());
    expect(res.status).toBe(400);
    const doc = parseXml(res.text);
    expect(doc.scope.get('ter')).toBe(TER);
    expect(faultCodes(res.text)).toEqual({ code: 'env:Sender', sub: 'ter:NotAuthorized' });
  });

  it('accepts Created within the tolerance', async () => {
    expect((await call('ws', '<tds:GetDeviceInformation/>', securityHeader({ ...creds, createdMs: Date.now() - 8000 }))).status).toBe(200);
  });

  it('refuses a replayed nonce, unless the replay check is off', async () => {
    const header = securityHeader(creds);
    expect((await call('ws', '<tds:GetDeviceInformation/>', header)).status).toBe(200);
    expect((await call('ws', '<tds:GetDeviceInformation/>', header)).status).toBe(400);
    expect(sim.camera('ws').info().stats.authFailures.replay).toBeGreaterThanOrEqual(1);
    expect((await call('norep', '<tds:GetDeviceInformation/>', header)).status).toBe(200);
    expect((await call('norep', '<tds:GetDeviceInformation/>', header)).status).toBe(200);
  });

  it('accepts PasswordText where configured', async () => {
    expect((await call('norep', '<tds:GetDeviceInformation/>', securityHeader({ ...creds, passwordText: true }))).status).toBe(200);
  });

  it('answers an unknown operation, a malformed request and an unknown profile with the ONVIF faults', async () => {
    const unknown = await call('ws', '<tds:GetFooBar/>');
    expect(unknown.status).toBe(500);
    expect(faultCodes(unknown.text)).toEqual({ code: 'env:Receiver', sub: 'ter:ActionNotSupported' });
    const broken = await soapPost(url('ws'), '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><tds:GetDeviceInformation/></s:Body>');
    expect(broken.status).toBe(400);
    expect(faultCodes(broken.text)).toEqual({ code: 'env:Sender', sub: 'ter:WellFormed' });
    const noProfile = await call('ws', '<trt:GetStreamUri><trt:ProfileToken>Nope</trt:ProfileToken></trt:GetStreamUri>', securityHeader(creds));
    expect(noProfile.status).toBe(400);
    expect(faultCodes(noProfile.text)).toEqual({ code: 'env:Sender', sub: 'ter:InvalidArgVal' });
    expect(noProfile.text).toContain('ter:NoProfile');
  });
});

describe('HTTP Digest cameras', () => {
  async function digestCall(id: string, password: string) {
    const first = await call(id, '<tds:GetDeviceInformation/>');
    const challenge = parseChallenge(first.headers.get('www-authenticate'));
    const auth = digestAuthorization(challenge, 'POST', new URL(url(id)).pathname, 'op', password);
    return { first, challenge, second: await call(id, '<tds:GetDeviceInformation/>', '', { Authorization: auth }) };
  }

  it('challenges with 401 Digest (MD5, qop=auth) and accepts a correct response', async () => {
    const { first, challenge, second } = await digestCall('hd', 'pa55');
    expect(first.status).toBe(401);
    expect(faultCodes(first.text).sub).toBe('ter:NotAuthorized');
    expect(challenge).toMatchObject({ qop: 'auth', algorithm: 'MD5' });
    expect(challenge.nonce).toMatch(/^[0-9a-f]{32}$/);
    expect(second.status).toBe(200);
    expect(body(second.text).local).toBe('GetDeviceInformationResponse');
  });

  it('refuses a wrong password with 401 and ignores a WS-UsernameToken', async () => {
    expect((await digestCall('hd', 'wrong')).second.status).toBe(401);
    expect((await call('hd', '<tds:GetDeviceInformation/>', securityHeader(creds))).status).toBe(401);
  });

  it('refuses a replayed nc/cnonce pair', async () => {
    const first = await call('hd', '<tds:GetDeviceInformation/>');
    const auth = digestAuthorization(parseChallenge(first.headers.get('www-authenticate')), 'POST', '/onvif/device_service', 'op', 'pa55');
    expect((await call('hd', '<tds:GetDeviceInformation/>', '', { Authorization: auth })).status).toBe(200);
    expect((await call('hd', '<tds:GetDeviceInformation/>', '', { Authorization: auth })).status).toBe(401);
  });

  it("accepts either scheme in 'any' mode", async () => {
    expect((await call('any', '<tds:GetDeviceInformation/>', securityHeader(creds))).status).toBe(200);
    expect((await digestCall('any', 'pa55')).second.status).toBe(200);
    expect((await call('any', '<tds:GetDeviceInformation/>', securityHeader({ ...creds, password: 'x' }))).status).toBe(400);
  });
});
