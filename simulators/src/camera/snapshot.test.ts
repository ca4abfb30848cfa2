import jpeg from 'jpeg-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCameraSimulation, type CameraSimulation } from './index.js';
import { digestFetch, manualClock } from './test-helpers.js';

const clock = manualClock();
let sim: CameraSimulation;

beforeAll(async () => {
  sim = await startCameraSimulation(
    {
      cameras: [
        { id: 'd', username: 'op', password: 'pa55', width: 96, height: 64, fps: 4 },
        { id: 'b', username: 'op', password: 'pa55', width: 48, height: 32, snapshotAuth: 'basic' },
        { id: 'n', width: 48, height: 32, snapshotAuth: 'none' },
      ],
    },
    { clock },
  );
});
afterAll(() => sim.stop());

/** Width and height from the SOF0 segment, walking the marker segments as a client would. */
function sofSize(img: Buffer): { width: number; height: number } | undefined {
  let i = 2;
  while (i + 4 <= img.length && img[i] === 0xff) {
    const marker = img[i + 1] ?? 0;
    const len = img.readUInt16BE(i + 2);
    if (marker === 0xc0) return { height: img.readUInt16BE(i + 5), width: img.readUInt16BE(i + 7) };
    i += 2 + len;
  }
  return undefined;
}

async function snapshot(id: string, profile?: string): Promise<Buffer> {
  const info = sim.camera(id).info();
  const url = profile ? (info.profiles.find((p) => p.token === profile)?.snapshotUrl ?? '') : info.snapshotUrl;
  const res = await digestFetch(url, 'op', 'pa55');
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('image/jpeg');
  return Buffer.from(await res.arrayBuffer());
}

describe('snapshot URL', () => {
  it('serves a baseline JPEG that decodes, with SOI/EOI and the profile size in SOF0', async () => {
    const img = await snapshot('d');
    expect([img[0], img[1]]).toEqual([0xff, 0xd8]);
    expect([img[img.length - 2], img[img.length - 1]]).toEqual([0xff, 0xd9]);
    expect(sofSize(img)).toEqual({ width: 96, height: 64 });
    const decoded = jpeg.decode(img, { useTArray: true });
    expect([decoded.width, decoded.height]).toEqual([96, 64]);
    expect(sofSize(await snapshot('d', 'Profile_2'))).toEqual({ width: 48, height: 32 });
  });

  it('shows a new picture once a frame period has passed, and the same within one', async () => {
    const a = await snapshot('d');
    clock.advance(100); // fps 4: still the same frame
    const same = await snapshot('d');
    clock.advance(250);
    const b = await snapshot('d');
    expect(same.equals(a)).toBe(true);
    expect(b.equals(a)).toBe(false);
  });

  it('freezes with frozen-snapshot and moves again once cleared', async () => {
    const cam = sim.camera('d');
    await cam.setFault('frozen-snapshot');
    const a = await snapshot('d');
    clock.advance(60_000);
    expect((await snapshot('d')).equals(a)).toBe(true);
    await cam.clearFault('frozen-snapshot');
    expect((await snapshot('d')).equals(a)).toBe(false);
  });

  it('requires Digest by default, and refuses a wrong password', async () => {
    const url = sim.camera('d').info().snapshotUrl;
    const bare = await fetch(url);
    expect(bare.status).toBe(401);
    expect(bare.headers.get('www-authenticate')).toMatch(/^Digest realm=".*", qop="auth", nonce="[0-9a-f]+"/);
    expect((await digestFetch(url, 'op', 'wrong')).status).toBe(401);
  });

  it('supports Basic and no auth', async () => {
    const basic = sim.camera('b').info().snapshotUrl;
    expect((await fetch(basic)).status).toBe(401);
    expect((await fetch(basic, { headers: { Authorization: `Basic ${Buffer.from('op:wrong').toString('base64')}` } })).status).toBe(401);
    const ok = await fetch(basic, { headers: { Authorization: `Basic ${Buffer.from('op:pa55').toString('base64')}` } });
    expect(ok.status).toBe(200);
    expect(sofSize(Buffer.from(await ok.arrayBuffer()))).toEqual({ width: 48, height: 32 });
    expect((await fetch(sim.camera('n').info().snapshotUrl)).status).toBe(200);
  });

  it('answers 404 for an unknown profile or path', async () => {
    const info = sim.camera('n').info();
    expect((await fetch(`${info.snapshotUrl.split('?')[0]}?profile=Nope`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${info.httpPort}/nothing`)).status).toBe(404);
  });
});
