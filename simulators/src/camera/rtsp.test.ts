import jpeg from 'jpeg-js';
import dgram from 'node:dgram';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startCameraSimulation, type CameraSimulation } from './index.js';
import { RawRtspClient } from './test-helpers.js';

let sim: CameraSimulation;
const clients: RawRtspClient[] = [];

beforeAll(async () => {
  sim = await startCameraSimulation({
    cameras: [
      { id: 'c', username: 'op', password: 'pa55', width: 64, height: 48, fps: 20 },
      { id: 'open', rtspAuth: 'none', width: 32, height: 32, fps: 20, rtspSessionTimeoutSec: 1 },
    ],
  });
});
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});
afterAll(() => sim.stop());

async function connect(id = 'c'): Promise<{ client: RawRtspClient; url: string }> {
  const info = sim.camera(id).info();
  const client = await RawRtspClient.connect(info.rtspPort);
  clients.push(client);
  return { client, url: info.rtspUrl };
}

/** Builds the JPEG RFC 2435 describes from the RTP packets of one frame: checks every header on the way. */
function parseRtpJpeg(packets: Buffer[]) {
  return packets.map((p) => ({
    version: (p[0] ?? 0) >> 6,
    marker: ((p[1] ?? 0) & 0x80) !== 0,
    payloadType: (p[1] ?? 0) & 0x7f,
    seq: p.readUInt16BE(2),
    timestamp: p.readUInt32BE(4),
    fragmentOffset: p.readUIntBE(13, 3),
    type: p[16],
    q: p[17],
    width: (p[18] ?? 0) * 8,
    height: (p[19] ?? 0) * 8,
    qtableLength: p.readUIntBE(13, 3) === 0 ? p.readUInt16BE(22) : 0,
  }));
}

describe('RTSP server', () => {
  it('answers OPTIONS without login', async () => {
    const { client, url } = await connect();
    const r = await client.request('OPTIONS', url);
    expect(r.status).toBe(200);
    expect(r.headers.public).toContain('DESCRIBE');
    expect(r.headers.public).toContain('GET_PARAMETER');
  });

  it('challenges DESCRIBE with 401 Digest, then returns an SDP with codec and size', async () => {
    const { client, url } = await connect();
    const first = await client.request('DESCRIBE', url, { Accept: 'application/sdp' });
    expect(first.status).toBe(401);
    expect(first.headers['www-authenticate']).toMatch(/^Digest realm="[^"]+", nonce="[0-9a-f]+"/);
    const r = await client.authed('DESCRIBE', url, 'op', 'pa55', { Accept: 'application/sdp' });
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/sdp');
    expect(r.headers['content-base']).toBe(`${url}/`);
    expect(r.body).toContain('m=video 0 RTP/AVP 26');
    expect(r.body).toContain('a=rtpmap:26 JPEG/90000');
    expect(r.body).toContain('a=framesize:26 64-48');
    expect(r.body).toContain('a=x-dimensions:64,48');
    expect(r.body).toContain('a=control:trackID=1');
  });

  it('refuses a wrong password and an unknown stream', async () => {
    const { client, url } = await connect();
    expect((await client.authed('DESCRIBE', url, 'op', 'nope')).status).toBe(401);
    expect((await client.authed('DESCRIBE', url.replace('stream1', 'stream9'), 'op', 'pa55')).status).toBe(404);
  });

  it('streams RFC 2435 RTP/JPEG frames over the RTSP connection after SETUP (interleaved) and PLAY', async () => {
    const { client, url } = await connect();
    const setup = await client.authed('SETUP', `${url}/trackID=1`, 'op', 'pa55', { Transport: 'RTP/AVP/TCP;unicast;interleaved=0-1' });
    expect(setup.status).toBe(200);
    expect(setup.headers.transport).toMatch(/^RTP\/AVP\/TCP;unicast;interleaved=0-1;ssrc=[0-9A-F]{8}/);
    const session = setup.headers.session?.split(';')[0] ?? '';
    expect(session).not.toBe('');
    const play = await client.authed('PLAY', `${url}/`, 'op', 'pa55', { Session: session, Range: 'npt=0.000-' });
    expect(play.status).toBe(200);
    expect(play.headers['rtp-info']).toMatch(/^url=.*trackID=1;seq=\d+;rtptime=\d+$/);

    // Two complete frames: packets up to and including the second marker.
    await client.until(() => client.interleaved.filter((f) => f.channel === 0 && ((f.data[1] ?? 0) & 0x80) !== 0).length >= 2);
    const rtp = client.interleaved.filter((f) => f.channel === 0).map((f) => f.data);
    const headers = parseRtpJpeg(rtp);
    const firstEnd = headers.findIndex((h) => h.marker);
    const frame = headers.slice(0, firstEnd + 1);
    for (const h of headers) expect(h).toMatchObject({ version: 2, payloadType: 26, type: 1, q: 255, width: 64, height: 48 });
    expect(frame[0]).toMatchObject({ fragmentOffset: 0, qtableLength: 128 });
    expect(new Set(frame.map((h) => h.timestamp)).size).toBe(1);
    for (let i = 1; i < headers.length; i++) expect(headers[i]?.seq).toBe(((headers[i - 1]?.seq ?? 0) + 1) & 0xffff);
    expect(headers[firstEnd + 1]?.timestamp).not.toBe(frame[0]?.timestamp);
    expect(client.interleaved.some((f) => f.channel === 1 && f.data[1] === 200)).toBe(true); // RTCP sender report

    expect((await client.request('GET_PARAMETER', url, { Session: session })).status).toBe(200);
    expect((await client.request('TEARDOWN', url, { Session: session })).status).toBe(200);
    expect((await client.request('GET_PARAMETER', url, { Session: session })).status).toBe(454);
  });

  it('sends frames that decode as JPEG after reassembly', async () => {
    const { client, url } = await connect('open');
    const setup = await client.request('SETUP', `${url}/trackID=1`, { Transport: 'RTP/AVP/TCP;unicast;interleaved=4-5' });
    expect(setup.status).toBe(200);
    const session = setup.headers.session?.split(';')[0] ?? '';
    expect((await client.request('PLAY', url, { Session: session })).status).toBe(200);
    await client.until(() => client.interleaved.some((f) => f.channel === 4 && ((f.data[1] ?? 0) & 0x80) !== 0));
    const pkts = client.interleaved.filter((f) => f.channel === 4).map((f) => f.data);
    const end = pkts.findIndex((p) => ((p[1] ?? 0) & 0x80) !== 0);
    const first = pkts[0] ?? Buffer.alloc(24);
    const tables = first.subarray(24, 24 + 128);
    const scan = Buffer.concat(pkts.slice(0, end + 1).map((p, i) => p.subarray(i === 0 ? 24 + 128 : 20)));
    const image = jpeg.decode(rebuildJpeg(tables, (first[18] ?? 0) * 8, (first[19] ?? 0) * 8, scan), { useTArray: true });
    expect([image.width, image.height]).toEqual([32, 32]);
  });

  it('refuses multicast, accepts UDP to a loopback client, and 461s an unknown transport', async () => {
    const { client, url } = await connect('open');
    expect((await client.request('SETUP', `${url}/trackID=1`, { Transport: 'RTP/AVP;multicast' })).status).toBe(461);
    expect((await client.request('SETUP', `${url}/trackID=1`, { Transport: 'RAW/RAW/UDP;unicast' })).status).toBe(461);
    const rtp = dgram.createSocket('udp4');
    const got: Buffer[] = [];
    rtp.on('message', (m) => got.push(m));
    await new Promise<void>((r) => rtp.bind(0, '127.0.0.1', () => r()));
    const port = rtp.address().port;
    try {
      const setup = await client.request('SETUP', `${url}/trackID=1`, { Transport: `RTP/AVP;unicast;client_port=${port}-${port + 1}` });
      expect(setup.status).toBe(200);
      expect(setup.headers.transport).toMatch(new RegExp(`client_port=${port}-${port + 1};server_port=\\d+-\\d+`));
      expect((await client.request('PLAY', url, { Session: setup.headers.session?.split(';')[0] ?? '' })).status).toBe(200);
      await client.until(() => got.length > 0);
      expect((got[0]?.[1] ?? 0) & 0x7f).toBe(26);
    } finally {
      rtp.close();
    }
  });

  it('ends a session nobody keeps alive after its timeout', async () => {
    const { client, url } = await connect('open');
    const setup = await client.request('SETUP', `${url}/trackID=1`, { Transport: 'RTP/AVP/TCP;unicast;interleaved=0-1' });
    const session = setup.headers.session?.split(';')[0] ?? '';
    expect(setup.headers.session).toContain('timeout=1');
    await new Promise((r) => setTimeout(r, 1300));
    expect((await client.request('GET_PARAMETER', url, { Session: session })).status).toBe(454);
  });
});

/** Minimal JFIF around an RFC 2435 type-1 scan (what a receiver does, RFC 2435 appendix B). */
function rebuildJpeg(qtables: Buffer, width: number, height: number, scan: Buffer): Buffer {
  const seg = (marker: number, payload: number[]) => Buffer.from([0xff, marker, (payload.length + 2) >> 8, (payload.length + 2) & 0xff, ...payload]);
  const hex = (s: string) => (s.match(/../g) ?? []).map((h) => parseInt(h, 16));
  const dcBits = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0];
  const dcBitsC = [0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0];
  const dcVals = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
  const acBits = [0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d];
  const acBitsC = [0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 0x77];
  const acVals = hex(
    '01020300041105122131410613516107227114328191a1082342b1c11552d1f02433627282090a161718191a25262728292a3435363738393a434445464748494a535455565758595a636465666768696a737475767778797a838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9fa',
  );
  const acValsC = hex(
    '00010203110405213106124151076171132232810814429' + '1a1b1c109233352f0156272d10a162434e125f11718191a262728292a35363738393a434445464748494a535455565758595a636465666768696a737475767778797a82838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae2e3e4e5e6e7e8e9eaf2f3f4f5f6f7f8f9fa',
  );
  return Buffer.concat([
    Buffer.from([0xff, 0xd8]),
    seg(0xdb, [0, ...qtables.subarray(0, 64), 1, ...qtables.subarray(64, 128)]),
    seg(0xc0, [8, height >> 8, height & 0xff, width >> 8, width & 0xff, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]),
    seg(0xc4, [0x00, ...dcBits, ...dcVals, 0x10, ...acBits, ...acVals, 0x01, ...dcBitsC, ...dcVals, 0x11, ...acBitsC, ...acValsC]),
    seg(0xda, [3, 1, 0x00, 2, 0x11, 3, 0x11, 0, 63, 0]),
    scan,
    Buffer.from([0xff, 0xd9]),
  ]);
}
