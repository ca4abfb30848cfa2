import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCameraSimulation, type CameraSimulation } from '@cityedge/simulators';
import { CameraError } from './camera-error.js';
import { DigestSession } from './digest-auth.js';
import { probeRtsp, type RtspProbeOptions } from './rtsp-probe.js';

/** A scripted RTSP server: `reply` gets each request (method, headers text, connection index). */
type Reply = (socket: net.Socket, method: string, request: string, conn: number) => void;

let server: net.Server;
let port: number;
let reply: Reply = () => undefined;
let sim: CameraSimulation;

beforeAll(async () => {
  let conns = 0;
  server = net.createServer((socket) => {
    const conn = conns++;
    let buf = '';
    socket.on('error', () => undefined);
    socket.on('data', (d) => {
      buf += d.toString('latin1');
      let end: number;
      while ((end = buf.indexOf('\r\n\r\n')) >= 0) {
        const request = buf.slice(0, end);
        buf = buf.slice(end + 4);
        reply(socket, request.split(' ')[0] ?? '', request, conn);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as net.AddressInfo).port;
  sim = await startCameraSimulation({ cameras: [{ id: 'c', username: 'admin', password: 'pw', width: 320, height: 176, fps: 10, discovery: false }] });
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
  await sim?.stop();
});

const cseq = (req: string) => /CSeq:\s*(\d+)/i.exec(req)?.[1] ?? '0';
const answer = (socket: net.Socket, req: string, status: string, headers: Record<string, string> = {}, body = '') => {
  const lines = [`RTSP/1.0 ${status}`, `CSeq: ${cseq(req)}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
  if (body) lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
  socket.write(lines.join('\r\n') + '\r\n\r\n' + body);
};
const SDP = 'v=0\r\ns=t\r\nm=video 0 RTP/AVP 26\r\na=control:trackID=1\r\n';
const opts = (o: Partial<RtspProbeOptions> = {}): RtspProbeOptions => ({ mode: 'describe', timeoutMs: 500, maxResponseBytes: 8192, auth: new DigestSession('admin', 'pw'), ...o });
const url = () => `rtsp://127.0.0.1:${port}/stream1`;

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    if (!(err instanceof CameraError)) throw err;
    return err.code;
  }
}

describe('probeRtsp against the camera simulator', () => {
  it('DESCRIBE with Digest gives codec and size from the SDP; frame mode reads the first JPEG frame', async () => {
    const info = sim.camera('c').info();
    expect(await probeRtsp(info.rtspUrl, opts())).toMatchObject({ codec: 'JPEG', payloadType: 26, clockRate: 90000, width: 320, height: 176 });
    const r = await probeRtsp(info.rtspUrl, opts({ mode: 'frame', timeoutMs: 2000 }));
    expect(r.frameError).toBeUndefined();
    expect(r.frame).toMatchObject({ width: 320, height: 176 });
  });

  it('wrong credentials are EDGE_CAMERA_UNAUTHORIZED', async () => {
    expect(await codeOf(probeRtsp(sim.camera('c').info().rtspUrl, opts({ auth: new DigestSession('admin', 'nope') })))).toBe('EDGE_CAMERA_UNAUTHORIZED');
  });
});

describe('probeRtsp against a hostile RTSP server', () => {
  it.each<[string, Reply, string]>([
    ['not RTSP at all', (s) => s.write('HTTP/1.1 200 OK\r\n\r\nhello'), 'EDGE_CAMERA_BAD_RESPONSE'],
    ['a 404', (s, _m, req) => answer(s, req, '404 Not Found'), 'EDGE_CAMERA_STATUS'],
    ['an SDP without video', (s, _m, req) => answer(s, req, '200 OK', { 'Content-Type': 'application/sdp' }, 'v=0\r\nm=audio 0 RTP/AVP 0\r\n'), 'EDGE_CAMERA_BAD_RESPONSE'],
    ['a huge Content-Length', (s, _m, req) => answer(s, req, '200 OK', { 'Content-Length': '99999999' }), 'EDGE_CAMERA_TOO_LARGE'],
    ['an endless header', (s) => s.write('RTSP/1.0 200 OK\r\n' + 'X-Pad: aaaaaaaaaaaaaaaaaaaa\r\n'.repeat(2000)), 'EDGE_CAMERA_TOO_LARGE'],
    ['silence', () => undefined, 'EDGE_CAMERA_TIMEOUT'],
    ['a close right away', (s) => s.destroy(), 'EDGE_CAMERA_CONNECT'],
  ])('%s fails with a coded error', async (_name, r, code) => {
    reply = r;
    expect(await codeOf(probeRtsp(url(), opts()))).toBe(code);
  });

  it('a port nobody listens on is EDGE_CAMERA_CONNECT', async () => {
    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const p = (closed.address() as net.AddressInfo).port;
    await new Promise((r) => closed.close(r));
    expect(await codeOf(probeRtsp(`rtsp://127.0.0.1:${p}/x`, opts()))).toBe('EDGE_CAMERA_CONNECT');
  });

  it('reconnects when the server closes after its 401, and strips user info from the request URI', async () => {
    const seen: string[] = [];
    reply = (s, _m, req) => {
      seen.push(req);
      if (!/Authorization: Digest /.test(req)) {
        answer(s, req, '401 Unauthorized', { 'WWW-Authenticate': 'Digest realm="cam", nonce="abc123"' });
        s.end();
      } else answer(s, req, '200 OK', { 'Content-Type': 'application/sdp' }, SDP.replace('a=control', 'a=framesize:26 1280-720\r\na=control'));
    };
    const r = await probeRtsp(`rtsp://someone:leaked@127.0.0.1:${port}/stream1`, opts());
    expect(r).toMatchObject({ codec: 'JPEG', width: 1280, height: 720 });
    // Depending on when the close is seen, the authenticated DESCRIBE goes once or twice.
    expect(seen.length).toBeGreaterThanOrEqual(2);
    for (const req of seen) expect(req.split('\r\n')[0]).toBe(`DESCRIBE ${url()} RTSP/1.0`);
    expect(seen.join('\n')).not.toContain('leaked');
  });

  it('frame mode: PLAY goes to the aggregate URL of a session-level a=control (a media URL gets 460), H.264 size from the in-band SPS', async () => {
    const sps = Buffer.from('Z2QAKKzZQHgCJ+XARAAAAwAEAAADAAg8YMZY', 'base64');
    const rtp = (marker: boolean, payload: Buffer) => {
      const header = Buffer.from([0x80, (marker ? 0x80 : 0) | 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 7]);
      const packet = Buffer.concat([header, payload]);
      return Buffer.concat([Buffer.from([0x24, 0, packet.length >> 8, packet.length & 0xff]), packet]);
    };
    const h264 = 'v=0\r\ns=t\r\na=control:*\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=control:stream=0\r\n';
    const seen: string[] = [];
    reply = (s, method, req) => {
      seen.push(req.split('\r\n')[0] ?? '');
      if (method === 'DESCRIBE') answer(s, req, '200 OK', { 'Content-Type': 'application/sdp', 'Content-Base': `${url()}/` }, h264);
      else if (method === 'SETUP') answer(s, req, '200 OK', { Session: 'abc', Transport: 'RTP/AVP/TCP;unicast;interleaved=0-1' });
      else if (method === 'PLAY' && !req.startsWith(`PLAY ${url()}/ `)) answer(s, req, '460 Only aggregate operation allowed');
      else if (method === 'PLAY') {
        answer(s, req, '200 OK', { Session: 'abc' });
        s.write(Buffer.concat([rtp(false, Buffer.concat([Buffer.from([24, 0, sps.length]), sps])), rtp(true, Buffer.from([0x65, 1, 2, 3]))]));
      }
    };
    const r = await probeRtsp(url(), opts({ mode: 'frame' }));
    expect(r.frameError).toBeUndefined();
    expect(r).toMatchObject({ codec: 'H264', width: 1920, height: 1080, frame: { packets: 2, width: 1920, height: 1080, keyFrame: true } });
    expect(seen.slice(0, 3)).toEqual([`DESCRIBE ${url()} RTSP/1.0`, `SETUP ${url()}/stream=0 RTSP/1.0`, `PLAY ${url()}/ RTSP/1.0`]);
  });

  it('frame mode: PLAY accepted but no RTP comes -> the DESCRIBE result with a frameError, within the deadline', async () => {
    reply = (s, method, req) => {
      if (method === 'DESCRIBE') answer(s, req, '200 OK', { 'Content-Type': 'application/sdp', 'Content-Base': `${url()}/` }, SDP);
      else if (method === 'SETUP') {
        expect(req.split('\r\n')[0]).toBe(`SETUP ${url()}/trackID=1 RTSP/1.0`);
        answer(s, req, '200 OK', { Session: '12345678;timeout=60', Transport: 'RTP/AVP/TCP;unicast;interleaved=0-1' });
      } else if (method === 'PLAY') answer(s, req, '200 OK', { Session: '12345678' });
    };
    const r = await probeRtsp(url(), opts({ mode: 'frame' }));
    expect(r.codec).toBe('JPEG');
    expect(r.frameError?.code).toBe('EDGE_CAMERA_TIMEOUT');
  });
});
