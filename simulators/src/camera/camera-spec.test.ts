import { describe, expect, it } from 'vitest';
import { CameraSimulationSpec, parseCameraSimulationSpec, startCameraSimulation } from './index.js';
import { child, parseXml, resolveQName } from './xml.js';
import { parseDigestParams } from './http-digest.js';
import { parseSimulationSpec, startSimulation } from '../simulation.js';
import { freePorts, rtspStatus, soapEnvelope, soapPost } from './test-helpers.js';

describe('camera simulation spec', () => {
  it('fills defaults', () => {
    const spec = CameraSimulationSpec.parse({ cameras: [{ id: 'a' }] });
    expect(spec.cameras[0]).toMatchObject({ auth: 'ws-security', snapshotAuth: 'digest', rtspAuth: 'digest', width: 640, height: 360, clockToleranceSec: 10, nonceReplayCheck: true, discovery: true });
    expect(spec.discovery).toEqual({ port: 0, maxDelayMs: 500 });
  });

  it('reports every problem with its path', () => {
    let err: unknown;
    try {
      parseCameraSimulationSpec({ cameras: [{ id: 'a', width: 100 }, { id: 'a', auth: 'kerberos', fault: 'clock-skew:lots' }], host: '10.0.0.1' });
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'SIM_CONFIG_INVALID' });
    const paths = (err as { problems: Array<{ path: string }> }).problems.map((p) => p.path);
    expect(paths).toEqual(expect.arrayContaining(['cameras[0].width', 'cameras[1].auth', 'cameras[1].fault[0].skewSec', 'host']));
  });

  it('reports a duplicate id (checked once the cameras themselves are valid)', () => {
    expect(() => parseCameraSimulationSpec({ cameras: [{ id: 'a' }, { id: 'a' }] })).toThrow(/duplicate camera id "a"/);
  });

  it('names the cameras on an unknown id', async () => {
    const sim = await startCameraSimulation({ cameras: [{ id: 'one', width: 16, height: 16 }] });
    try {
      expect(() => sim.camera('two')).toThrow(expect.objectContaining({ code: 'SIM_UNKNOWN_DEVICE', message: expect.stringContaining('one') }));
    } finally {
      await sim.stop();
      await sim.stop();
    }
  });
});

describe('cameras in the simulator spec (startSimulation, cityedge-sim --config)', () => {
  it('starts cameras alone or beside Modbus endpoints and stops them', async () => {
    const sim = await startSimulation({ cameras: [{ id: 'cam-a', width: 16, height: 16 }], cameraDiscovery: { maxDelayMs: 10 } });
    try {
      const info = sim.cameras?.camera('cam-a').info();
      expect(info?.up).toBe(true);
      expect((await soapPost(info?.deviceServiceUrl ?? '', soapEnvelope('<tds:GetSystemDateAndTime/>'))).status).toBe(200);
    } finally {
      await sim.stop();
    }
    expect(sim.cameras?.camera('cam-a').info().up).toBe(false);
  });

  it('listens on the configured httpPort and rtspPort, rtsp-down included, and on them again after the fault', async () => {
    const [http1, rtsp1, http2, rtsp2] = (await freePorts(4)) as [number, number, number, number];
    const sim = await startSimulation({
      cameras: [
        { id: 'fixed', width: 16, height: 16, discovery: false, httpPort: http1, rtspPort: rtsp1, rtspAuth: 'none' },
        { id: 'fixed-down', width: 16, height: 16, discovery: false, httpPort: http2, rtspPort: rtsp2, rtspAuth: 'none', fault: 'rtsp-down' },
      ],
    });
    try {
      const fixed = sim.cameras?.camera('fixed').info();
      expect({ http: fixed?.httpPort, rtsp: fixed?.rtspPort }).toEqual({ http: http1, rtsp: rtsp1 });
      expect(fixed?.deviceServiceUrl).toBe(`http://127.0.0.1:${http1}/onvif/device_service`);
      expect((await soapPost(`http://127.0.0.1:${http1}/onvif/device_service`, soapEnvelope('<tds:GetSystemDateAndTime/>'))).status).toBe(200);
      expect(await rtspStatus(rtsp1)).toBe(200);
      const down = sim.cameras?.camera('fixed-down');
      expect({ http: down?.info().httpPort, rtsp: down?.info().rtspPort, url: down?.info().rtspUrl }).toEqual({ http: http2, rtsp: rtsp2, url: `rtsp://127.0.0.1:${rtsp2}/stream1` });
      await down?.clearFault('rtsp-down');
      expect(await rtspStatus(rtsp2)).toBe(200);
    } finally {
      await sim.stop();
    }
  });

  it('checks camera entries with the rest of the spec', () => {
    expect(() => parseSimulationSpec({ cameras: [{ id: 'x' }, { id: 'x', fps: 0 }] })).toThrow(/cameras\[1\]\.fps/);
    expect(() => parseSimulationSpec({ cameras: [{ id: 'x' }, { id: 'x' }] })).toThrow(/duplicate camera id/);
    expect(() => parseSimulationSpec({})).toThrow(/at least one endpoint/);
  });
});

describe('request parsing', () => {
  it('resolves namespaces, including QName values', () => {
    const doc = parseXml('<a:R xmlns:a="urn:a" xmlns="urn:d"><b x="1">t&amp;u</b><a:T xmlns:q="urn:q">q:Name</a:T></a:R>');
    expect([doc.ns, doc.local]).toEqual(['urn:a', 'R']);
    expect(child(doc, 'urn:d', 'b')?.text).toBe('t&u');
    const t = child(doc, 'urn:a', 'T');
    expect(t && resolveQName(t, 'q:Name')).toEqual({ ns: 'urn:q', local: 'Name' });
  });

  it.each([
    ['unclosed', '<a><b></a>'],
    ['an unbound prefix', '<x:a/>'],
    ['a DTD', '<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>'],
    ['two roots', '<a/><b/>'],
  ])('rejects %s', (_what, text) => {
    expect(() => parseXml(text)).toThrow(expect.objectContaining({ code: 'SIM_XML_MALFORMED' }));
  });

  it('parses Digest parameters, quoted and not', () => {
    const p = parseDigestParams('Digest username="a b", realm="r", nonce="n", uri="/x?y=1,2", response="abc", qop=auth, nc=00000001, cnonce="c"');
    expect(Object.fromEntries(p ?? [])).toEqual({ username: 'a b', realm: 'r', nonce: 'n', uri: '/x?y=1,2', response: 'abc', qop: 'auth', nc: '00000001', cnonce: 'c' });
    expect(parseDigestParams('Basic abc')).toBeUndefined();
  });
});
