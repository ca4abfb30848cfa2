import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCameraSimulation, type CameraSimulation } from './index.js';
import { probeXml, udpExchange } from './test-helpers.js';
import { child, childText, parseXml } from './xml.js';
import { scopeMatches } from './ws-discovery.js';

const ENV = 'http://www.w3.org/2003/05/soap-envelope';
const WSA = 'http://schemas.xmlsoap.org/ws/2004/08/addressing';
const WSD = 'http://schemas.xmlsoap.org/ws/2005/04/discovery';

let sim: CameraSimulation;
const WAIT = 150; // maxDelayMs is 30

beforeAll(async () => {
  sim = await startCameraSimulation({
    cameras: [
      { id: 'gate', name: 'North Gate', model: 'Eye-200', location: 'district-1', width: 32, height: 32 },
      { id: 'bridge', name: 'Bridge', model: 'Eye-300', location: 'district-2', width: 32, height: 32 },
      { id: 'hidden', discovery: false, width: 32, height: 32 },
    ],
    discovery: { maxDelayMs: 30 },
  });
});
afterAll(() => sim.stop());

function parseMatch(datagram: Buffer) {
  const doc = parseXml(datagram.toString());
  const header = child(doc, ENV, 'Header');
  const match = child(child(child(doc, ENV, 'Body'), WSD, 'ProbeMatches'), WSD, 'ProbeMatch');
  const seq = child(header, WSD, 'AppSequence');
  return {
    action: childText(header, [WSA, 'Action']),
    relatesTo: childText(header, [WSA, 'RelatesTo']),
    address: childText(match, [WSA, 'EndpointReference'], [WSA, 'Address']),
    types: childText(match, [WSD, 'Types'])?.split(/\s+/),
    scopes: childText(match, [WSD, 'Scopes'])?.split(/\s+/) ?? [],
    xaddrs: childText(match, [WSD, 'XAddrs']),
    instanceId: seq?.attrs.get('InstanceId'),
  };
}

describe('WS-Discovery responder', () => {
  it('answers a Probe for NetworkVideoTransmitter on the camera port with a ProbeMatch unicast back', async () => {
    const info = sim.camera('gate').info();
    const replies = await udpExchange(info.discoveryPort ?? 0, probeXml('dn:NetworkVideoTransmitter', undefined, 'uuid:probe-1'), WAIT);
    expect(replies).toHaveLength(1);
    const m = parseMatch(replies[0] ?? Buffer.alloc(0));
    expect(m.action).toBe(`${WSD}/ProbeMatches`);
    expect(m.relatesTo).toBe('uuid:probe-1');
    expect(m.address).toBe(info.uuid);
    expect(m.address).toMatch(/^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(m.types).toEqual(['dn:NetworkVideoTransmitter', 'tds:Device']);
    expect(m.scopes).toEqual(expect.arrayContaining(['onvif://www.onvif.org/name/North%20Gate', 'onvif://www.onvif.org/hardware/Eye-200', 'onvif://www.onvif.org/location/district-1']));
    expect(m.xaddrs).toBe(`http://127.0.0.1:${info.httpPort}/onvif/device_service`);
  });

  it('keeps the EndpointReference stable across simulations', async () => {
    const again = await startCameraSimulation({ cameras: [{ id: 'gate', width: 32, height: 32 }] });
    try {
      expect(again.camera('gate').info().uuid).toBe(sim.camera('gate').info().uuid);
    } finally {
      await again.stop();
    }
  });

  it('answers tds:Device and an empty Types, on the shared port every camera with discovery answers', async () => {
    const device = await udpExchange(sim.discoveryPort, probeXml('tds:Device'), WAIT);
    expect(device.map((d) => parseMatch(d).address).sort()).toEqual([sim.camera('gate').info().uuid, sim.camera('bridge').info().uuid].sort());
    expect(await udpExchange(sim.discoveryPort, probeXml(''), WAIT)).toHaveLength(2);
  });

  it('filters by Scopes (RFC 3986 prefix matching)', async () => {
    const replies = await udpExchange(sim.discoveryPort, probeXml('dn:NetworkVideoTransmitter', 'onvif://www.onvif.org/location/district-2'), WAIT);
    expect(replies.map((r) => parseMatch(r).address)).toEqual([sim.camera('bridge').info().uuid]);
    expect(scopeMatches('onvif://www.onvif.org/location', 'onvif://www.onvif.org/location/district-2', `${WSD}/rfc3986`)).toBe(true);
    expect(scopeMatches('onvif://www.onvif.org/loc', 'onvif://www.onvif.org/location/district-2', `${WSD}/rfc3986`)).toBe(false);
  });

  it('does not answer a Probe for another type', async () => {
    const other = probeXml('x:Printer').replace('<s:Envelope ', '<s:Envelope xmlns:x="urn:printers" ');
    expect(await udpExchange(sim.discoveryPort, other, WAIT)).toHaveLength(0);
  });

  it('drops malformed probes silently and keeps answering', async () => {
    const port = sim.camera('gate').info().discoveryPort ?? 0;
    expect(await udpExchange(port, '<s:Envelope xmlns:s="x"><broken', WAIT)).toHaveLength(0);
    expect(await udpExchange(port, Buffer.from([0, 1, 2, 255]), WAIT)).toHaveLength(0);
    expect(await udpExchange(port, probeXml().replace('<a:MessageID>', '<a:Other>').replace('</a:MessageID>', '</a:Other>'), WAIT)).toHaveLength(0);
    expect(await udpExchange(port, probeXml('zz:NetworkVideoTransmitter'), WAIT)).toHaveLength(0);
    expect(await udpExchange(port, probeXml(), WAIT)).toHaveLength(1);
  });

  it('has no discovery port for a camera with discovery off', () => {
    expect(sim.camera('hidden').info().discoveryPort).toBeUndefined();
  });
});
