import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CameraError } from './camera-error.js';
import { OnvifCameraClient } from './onvif-camera-client.js';

/**
 * Reliability case 7: a camera whose SOAP replies are oversized, trickled, malformed, hostile or
 * fuzzed. Every call must settle with a result or a coded CameraError within its timeout; no
 * uncaught exception (vitest fails the run on one), no unbounded buffering.
 */

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, action: string) => void;

const ENV = (body: string) =>
  `<?xml version="1.0" encoding="UTF-8"?><env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope" xmlns:tds="http://www.onvif.org/ver10/device/wsdl" xmlns:trt="http://www.onvif.org/ver10/media/wsdl" xmlns:tt="http://www.onvif.org/ver10/schema" xmlns:ter="http://www.onvif.org/ver10/error"><env:Body>${body}</env:Body></env:Envelope>`;
const TIME = ENV(
  '<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime><tt:DateTimeType>NTP</tt:DateTimeType><tt:UTCDateTime><tt:Time><tt:Hour>10</tt:Hour><tt:Minute>20</tt:Minute><tt:Second>30</tt:Second></tt:Time><tt:Date><tt:Year>2025</tt:Year><tt:Month>3</tt:Month><tt:Day>4</tt:Day></tt:Date></tt:UTCDateTime></tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>',
);
const CAPS = (port: number) =>
  ENV(`<tds:GetCapabilitiesResponse><tds:Capabilities><tt:Media><tt:XAddr>http://10.9.9.9:${port}/onvif/media_service</tt:XAddr></tt:Media></tds:Capabilities></tds:GetCapabilitiesResponse>`);
const PROFILES = ENV(
  '<trt:GetProfilesResponse><trt:Profiles token="P1" fixed="true"><tt:Name>main</tt:Name><tt:VideoEncoderConfiguration token="V1"><tt:Encoding>H264</tt:Encoding><tt:Resolution><tt:Width>1920</tt:Width><tt:Height>1080</tt:Height></tt:Resolution><tt:RateControl><tt:FrameRateLimit>25</tt:FrameRateLimit></tt:RateControl></tt:VideoEncoderConfiguration></trt:Profiles></trt:GetProfilesResponse>',
);
const fault = (code: string, sub: string, reason: string) =>
  ENV(`<env:Fault><env:Code><env:Value>env:${code}</env:Value><env:Subcode><env:Value>ter:${sub}</env:Value></env:Subcode></env:Code><env:Reason><env:Text xml:lang="en">${reason}</env:Text></env:Reason></env:Fault>`);

let server: http.Server;
let port: number;
let handler: Handler = () => undefined;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const action = /<(?:\w+:)?(Get\w+)[\s/>]/.exec(body.slice(body.indexOf('Body')))?.[1] ?? 'unknown';
      handler(req, res, action);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const client = () =>
  new OnvifCameraClient({ endpoint: { host: '127.0.0.1', port, path: '/onvif/device_service', username: 'admin', password: 'pw' }, limits: { timeoutMs: 600, maxResponseBytes: 64 * 1024, maxSnapshotBytes: 64 * 1024 } });

const soap = (res: http.ServerResponse, status: number, xml: string) => {
  res.writeHead(status, { 'Content-Type': 'application/soap+xml; charset=utf-8' });
  res.end(xml);
};

/** Answers time and capabilities properly, and `action` with `reply`. */
const only = (action: string, reply: Handler): Handler => (req, res, a) => {
  if (a === action) reply(req, res, a);
  else if (a === 'GetSystemDateAndTime') soap(res, 200, TIME);
  else if (a === 'GetCapabilities') soap(res, 200, CAPS(port));
  else soap(res, 200, PROFILES);
};

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    if (!(err instanceof CameraError)) throw err;
    return err.code;
  }
}

describe('OnvifCameraClient against a hostile SOAP server', () => {
  it.each<[string, Handler, string]>([
    ['an endless reply', (_q, res) => {
      res.writeHead(200, { 'Content-Type': 'application/soap+xml' });
      const chunk = '<a>' + 'x'.repeat(8000) + '</a>';
      const pump = () => {
        while (!res.destroyed && res.write(chunk));
        if (!res.destroyed) res.once('drain', pump);
      };
      pump();
    }, 'EDGE_CAMERA_TOO_LARGE'],
    ['a reply trickled one byte at a time (never idle long enough for an idle timeout)', (_q, res) => {
      res.writeHead(200, { 'Content-Type': 'application/soap+xml' });
      const t = setInterval(() => (res.destroyed ? clearInterval(t) : res.write(' ')), 50);
      res.on('close', () => clearInterval(t));
    }, 'EDGE_CAMERA_TIMEOUT'],
    ['no reply at all', () => undefined, 'EDGE_CAMERA_TIMEOUT'],
    ['binary garbage', (_q, res) => soap(res, 200, Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 37) % 256)).toString('latin1')), 'EDGE_CAMERA_BAD_RESPONSE'],
    ['truncated XML', (_q, res) => soap(res, 200, TIME.slice(0, TIME.length / 2)), 'EDGE_CAMERA_BAD_RESPONSE'],
    ['a DTD with entity expansion', (_q, res) => soap(res, 200, '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>' + TIME.replace(/^<\?xml[^>]*>/, '')), 'EDGE_CAMERA_BAD_RESPONSE'],
    ['an HTML 404', (_q, res) => {
      res.writeHead(404, { 'Content-Type': 'text/html' });
      res.end('<html><body>Not found</body></html>');
    }, 'EDGE_CAMERA_STATUS'],
    ['a connection reset mid-reply', (_q, res) => {
      res.writeHead(200, { 'Content-Type': 'application/soap+xml', 'Content-Length': '5000' });
      res.write(TIME.slice(0, 100));
      setTimeout(() => res.socket?.destroy(), 10);
    }, 'EDGE_CAMERA_CONNECT'],
    ['a SOAP fault', (_q, res) => soap(res, 500, fault('Receiver', 'ActionNotSupported', 'no')), 'EDGE_CAMERA_BAD_RESPONSE'],
    ['well-formed XML that is not an answer', (_q, res) => soap(res, 200, ENV('<tds:SomethingElse/>')), 'EDGE_CAMERA_BAD_RESPONSE'],
    ['an impossible date', (_q, res) => soap(res, 200, TIME.replace('<tt:Year>2025', '<tt:Year>twenty')), 'EDGE_CAMERA_BAD_RESPONSE'],
  ])('GetSystemDateAndTime with %s fails with a coded error', async (_name, h, code) => {
    handler = h;
    const c = client();
    try {
      expect(await codeOf(c.getSystemDateAndTime())).toBe(code);
    } finally {
      c.close();
    }
  });

  it('a NotAuthorized fault (HTTP 400) and a 401 that never accepts are EDGE_CAMERA_UNAUTHORIZED', async () => {
    const c = client();
    try {
      handler = only('GetDeviceInformation', (_q, res) => soap(res, 400, fault('Sender', 'NotAuthorized', 'Sender not Authorized')));
      await c.getSystemDateAndTime();
      expect(await codeOf(c.getDeviceInformation())).toBe('EDGE_CAMERA_UNAUTHORIZED');
      handler = only('GetDeviceInformation', (_q, res) => {
        res.writeHead(401, { 'WWW-Authenticate': 'Digest realm="cam", nonce="abc", qop="auth"' });
        res.end();
      });
      expect(await codeOf(c.getDeviceInformation())).toBe('EDGE_CAMERA_UNAUTHORIZED');
    } finally {
      c.close();
    }
  });

  it('reads the media service from GetCapabilities, keeps strings exact and copes with an empty profile list', async () => {
    const c = client();
    try {
      handler = only('GetDeviceInformation', (_q, res) =>
        soap(res, 200, ENV('<tds:GetDeviceInformationResponse><tds:Manufacturer>Acme &amp; Co</tds:Manufacturer><tds:Model>X1</tds:Model><tds:FirmwareVersion>5.10</tds:FirmwareVersion><tds:SerialNumber>00120</tds:SerialNumber><tds:HardwareId>1.0</tds:HardwareId></tds:GetDeviceInformationResponse>')),
      );
      await c.getSystemDateAndTime();
      expect(await c.getDeviceInformation()).toEqual({ manufacturer: 'Acme & Co', model: 'X1', firmwareVersion: '5.10', serialNumber: '00120', hardwareId: '1.0' });
      expect(await c.getProfiles()).toEqual([{ token: 'P1', name: 'main', encoding: 'H264', width: 1920, height: 1080, fps: 25 }]);
      handler = only('GetProfiles', (_q, res) => soap(res, 200, ENV('<trt:GetProfilesResponse/>')));
      expect(await c.getProfiles()).toEqual([]);
    } finally {
      c.close();
    }
  });

  it('survives 300 fuzzed replies: each call settles with a result or a CameraError', async () => {
    let seed = 42;
    const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    const mutate = (xml: string): string => {
      const b = Buffer.from(xml, 'utf8');
      const op = Math.floor(rand() * 4);
      if (op === 0) return b.subarray(0, Math.floor(rand() * b.length)).toString('latin1');
      if (op === 1) {
        for (let i = 0; i < 1 + rand() * 8; i++) b[Math.floor(rand() * b.length)] = Math.floor(rand() * 256);
        return b.toString('latin1');
      }
      if (op === 2) {
        const at = Math.floor(rand() * xml.length);
        return xml.slice(0, at) + ['<', '>', '&', '"', '</x>', '<![CDATA[', '\u0000', '&#0;'][Math.floor(rand() * 8)] + xml.slice(at);
      }
      const a = Math.floor(rand() * xml.length);
      return xml.slice(0, a) + xml.slice(a + Math.floor(rand() * 40));
    };
    const outcomes = new Map<string, number>();
    for (let i = 0; i < 150; i++) {
      handler = (_q, res) => soap(res, 200, mutate(TIME));
      const c = client();
      const code = await codeOf(c.getSystemDateAndTime());
      outcomes.set(code, (outcomes.get(code) ?? 0) + 1);
      handler = only('GetProfiles', (_q, res) => soap(res, 200, mutate(PROFILES)));
      if (code !== 'ok') await c.getSystemDateAndTime();
      const pcode = await codeOf(c.getProfiles());
      outcomes.set(pcode, (outcomes.get(pcode) ?? 0) + 1);
      c.close();
    }
    expect([...outcomes.keys()].every((k) => k === 'ok' || k.startsWith('EDGE_CAMERA_'))).toBe(true);
    expect(outcomes.get('EDGE_CAMERA_BAD_RESPONSE')).toBeGreaterThan(50);
  });
});
