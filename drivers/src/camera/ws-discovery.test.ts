import dgram from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCameraSimulation, type CameraSimulation } from '@cityedge/simulators';
import { parseProbeMatches, wsDiscover } from './ws-discovery.js';

let sim: CameraSimulation;

beforeAll(async () => {
  sim = await startCameraSimulation({
    cameras: [
      { id: 'north-gate', name: 'North Gate', model: 'SimCam S1', location: 'dong-ha', width: 64, height: 48 },
      { id: 'bridge', width: 64, height: 48 },
      { id: 'hidden', width: 64, height: 48, discovery: false },
    ],
    discovery: { maxDelayMs: 50 },
  });
});

afterAll(async () => {
  await sim?.stop();
});

const match = (relatesTo: string, epr: string) =>
  `<?xml version="1.0"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery"><s:Header><a:RelatesTo>${relatesTo}</a:RelatesTo></s:Header><s:Body><d:ProbeMatches><d:ProbeMatch><a:EndpointReference><a:Address>${epr}</a:Address></a:EndpointReference><d:Types>dn:NetworkVideoTransmitter</d:Types><d:Scopes>onvif://www.onvif.org/name/Fake%20Cam onvif://www.onvif.org/hardware/X</d:Scopes><d:XAddrs>http://10.1.1.1/onvif/device_service javascript:alert(1)</d:XAddrs><d:MetadataVersion>1</d:MetadataVersion></d:ProbeMatch></d:ProbeMatches></s:Body></s:Envelope>`;

describe('WS-Discovery', () => {
  it('finds the simulated cameras by unicast, with EPR, scopes and XAddrs, deduped by EPR', async () => {
    const own = sim.camera('north-gate').info();
    const r = await wsDiscover({ timeoutMs: 400, targets: [{ host: '127.0.0.1', port: sim.discoveryPort }, { host: '127.0.0.1', port: own.discoveryPort! }] });
    expect(r.problems).toEqual([]);
    const byEpr = new Map(r.devices.map((d) => [d.epr, d]));
    expect(r.devices).toHaveLength(2);
    expect(byEpr.get(own.uuid)).toMatchObject({
      xaddrs: [own.deviceServiceUrl],
      name: 'North Gate',
      hardware: 'SimCam S1',
      location: 'dong-ha',
      types: expect.arrayContaining([expect.stringMatching(/NetworkVideoTransmitter$/)]),
    });
    expect(byEpr.has(sim.camera('bridge').info().uuid)).toBe(true);
    expect(byEpr.has(sim.camera('hidden').info().uuid)).toBe(false);
  });

  it('drops malformed replies and replies to somebody else\'s Probe, and keeps good ones', async () => {
    const responder = dgram.createSocket('udp4');
    await new Promise<void>((r) => responder.bind(0, '127.0.0.1', r));
    responder.on('message', (msg, rinfo) => {
      const id = /<a:MessageID>([^<]+)</.exec(msg.toString())?.[1] ?? '';
      for (const reply of ['garbage \u0000\u0001', '<s:Envelope><s:Body><unclosed>', match('urn:uuid:someone-else', 'urn:uuid:foreign'), match(id, 'urn:uuid:good'), match(id, 'urn:uuid:good')]) {
        responder.send(reply, rinfo.port, rinfo.address);
      }
    });
    try {
      const r = await wsDiscover({ timeoutMs: 300, targets: [{ host: '127.0.0.1', port: (responder.address() as { port: number }).port }] });
      expect(r.devices.map((d) => d.epr)).toEqual(['urn:uuid:good']);
      expect(r.devices[0]).toMatchObject({ name: 'Fake Cam', hardware: 'X', xaddrs: ['http://10.1.1.1/onvif/device_service'], metadataVersion: 1 });
      expect(r.dropped).toBe(3);
    } finally {
      responder.close();
    }
  });

  it('reports an interface that does not exist instead of failing', async () => {
    const r = await wsDiscover({ timeoutMs: 50, interfaces: ['no-such-if0'] });
    expect(r.devices).toEqual([]);
    expect(r.problems).toEqual(['interface no-such-if0: not found']);
  });

  it('parseProbeMatches rejects a DTD', () => {
    expect(parseProbeMatches('<!DOCTYPE x [<!ENTITY a "b">]>' + match('m', 'urn:uuid:x'), 'h:1', new Set(['m']))).toBeUndefined();
    expect(parseProbeMatches(match('m', 'urn:uuid:x'), 'h:1', new Set(['m']))).toHaveLength(1);
  });
});
