import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { buildApp } from '../app.js';
import { waitUntil } from '../broker/testing/mqtt-test-kit.js';
import { errorOf, seedGateway } from '../testing/fixtures.js';
import { startTestRegistry, type TestRegistry } from '../testing/harness.js';
import { sqliteStoreFactory, type TestStore } from '../testing/stores.js';

/**
 * A shell script stands in for ffmpeg (lifecycle only; the real one runs in
 * tests/integration/camera-live-view.test.ts). It answers -version, records its arguments, and
 * by the stream path: /silent writes nothing, /fail complains like ffmpeg (naming the URL with
 * its credentials) and exits 1, anything else writes 188-byte MPEG-TS-sized packets until killed.
 */
const FAKE_FFMPEG = `#!/bin/sh
if [ "$2" = "-version" ]; then echo "ffmpeg version 0-fake"; exit 0; fi
printf '%s\\n' "$@" > "$0.args"
case "$2" in
  */silent*) exec sleep 60 ;;
  */fail*) echo "[rtsp @ 0x1] method DESCRIBE failed: 401 Unauthorized" >&2; echo "$2: Server returned 401 Unauthorized (authorization failed)" >&2; exit 1 ;;
esac
while :; do printf 'G%0187d' 0; sleep 0.05; done
`;
const PASSWORD = 'Cam-Pa55-9f3a';
const UNAVAILABLE = { error: { code: 'REG_LIVE_UNAVAILABLE', message: 'live view needs ffmpeg on the registry host (apt-get install ffmpeg)' } };

interface Viewer {
  ws: WebSocket;
  messages: Buffer[];
  closed: Promise<{ code: number; reason: string }>;
}
type Refused = { status: number; body: any };

function open(url: string, headers: Record<string, string> = {}): Promise<Viewer | Refused> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    const messages: Buffer[] = [];
    const closed = new Promise<{ code: number; reason: string }>((r) => ws.on('close', (code, reason) => r({ code, reason: reason.toString() })));
    ws.on('message', (d: Buffer) => messages.push(d));
    ws.on('open', () => resolve({ ws, messages, closed }));
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(body) }));
    });
    ws.on('error', (err) => reject(err));
  });
}
const isViewer = (v: Viewer | Refused): v is Viewer => 'ws' in v;
function pidGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

describe('live view relay (fake ffmpeg)', () => {
  let dir: string;
  let ffmpeg: string;
  let db: TestStore;
  let r: TestRegistry;
  let base: string;
  const extra: FastifyInstance[] = [];

  const inventory = (cameraId: string, path: string) =>
    r.services.cameraStatus.onCameraEvent('gw-live', { kind: 'inventory', cameraId, ts: 1, inventory: { model: 'Sim', profiles: [{ token: 'Profile_1', encoding: 'JPEG', width: 321, height: 185, streamUri: `rtsp://10.9.8.7:8554${path}` }] } });
  // Over the socket: the WebSocket URL names the host the request came to.
  const ticket = async (cam: string, token?: string) => {
    const res = await fetch(`${base}/v1/gateways/gw-live/cameras/${cam}/live`, { method: 'POST', headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });
    const text = await res.text();
    return { statusCode: res.status, body: text, json: () => JSON.parse(text) as unknown };
  };
  const watch = async (cam: string): Promise<Viewer> => {
    const t = await ticket(cam, r.tokens.technician);
    expect(t.statusCode, t.body).toBe(201);
    const v = await open((t.json() as { wsUrl: string }).wsUrl);
    if (!isViewer(v)) throw new Error(`refused: ${JSON.stringify(v)}`);
    return v;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cityedge-live-'));
    ffmpeg = join(dir, 'ffmpeg');
    writeFileSync(ffmpeg, FAKE_FFMPEG);
    chmodSync(ffmpeg, 0o755);
    db = await sqliteStoreFactory();
    r = await startTestRegistry(db.store, { liveView: { ffmpegPath: ffmpeg, idleTimeoutMs: 600, ticketTtlMs: 30_000, killGraceMs: 500 } });
    await seedGateway(r, 'gw-live', { devices: 0 });
    for (const [id, path] of [['gate', '/stream1'], ['mute', '/silent'], ['broken', '/fail'], ['noinv', '']] as const) {
      const c = await r.call('POST', '/v1/gateways/gw-live/cameras', { token: r.tokens.technician, body: { id, name: id, host: '10.9.8.7', username: 'probe', password: PASSWORD } });
      expect(c.statusCode, c.body).toBe(201);
      if (path) await inventory(id, path);
    }
    await r.app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(r.app.server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    for (const a of extra) await a.close();
    await r?.close();
    await db?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('without ffmpeg answers 503 REG_LIVE_UNAVAILABLE and everything else works', async () => {
    const app = buildApp({ services: r.services, logger: pino({ level: 'silent' }), liveView: { ffmpegPath: join(dir, 'no-such-ffmpeg') } });
    extra.push(app);
    await app.ready();
    const res = await app.inject({ method: 'POST', url: '/v1/gateways/gw-live/cameras/gate/live', headers: { authorization: `Bearer ${r.tokens.technician}` } });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual(UNAVAILABLE);
    const status = await app.inject({ method: 'GET', url: '/v1/gateways/gw-live/cameras/status', headers: { authorization: `Bearer ${r.tokens.viewer}` } });
    expect(status.statusCode).toBe(200);
    expect((status.json() as { cameras: unknown[] }).cameras).toHaveLength(4);
  });

  it('needs a technician: 401 without a token, 403 for a viewer, on the request and on the WebSocket', async () => {
    expect((await ticket('gate')).statusCode).toBe(401);
    const viewer = await ticket('gate', r.tokens.viewer);
    expect([viewer.statusCode, errorOf(viewer).code]).toEqual([403, 'REG_FORBIDDEN']);
    const ws = `${base.replace('http', 'ws')}/v1/gateways/gw-live/cameras/gate/live/ws`;
    expect(await open(ws)).toMatchObject({ status: 401, body: { error: { code: 'REG_UNAUTHORIZED' } } });
    expect(await open(ws, { authorization: `Bearer ${r.tokens.viewer}` })).toMatchObject({ status: 403, body: { error: { code: 'REG_FORBIDDEN' } } });
    expect(await open(`${ws}?ticket=forged`)).toMatchObject({ status: 401, body: { error: { code: 'REG_UNAUTHORIZED', message: 'unknown or already used live-view ticket' } } });
    expect(await open(`${base.replace('http', 'ws')}/v1/other/ws`)).toMatchObject({ status: 404, body: { error: { code: 'REG_NOT_FOUND' } } });
    const page = await r.call('GET', '/v1/gateways/gw-live/cameras/gate/live.html');
    expect([page.statusCode, page.headers['content-type']]).toEqual([200, 'text/html; charset=utf-8']);
  });

  it('answers 404 for an unknown camera and 409 REG_LIVE_NO_STREAM before the gateway reported a stream', async () => {
    expect((await ticket('nope', r.tokens.technician)).statusCode).toBe(404);
    const none = await ticket('noinv', r.tokens.technician);
    expect([none.statusCode, errorOf(none).code]).toEqual([409, 'REG_LIVE_NO_STREAM']);
  });

  it('tickets are single use, bound to their camera, and expire', async () => {
    const t = (await ticket('gate', r.tokens.technician)).json() as { wsUrl: string; expiresAt: number };
    expect(t.expiresAt).toBe(r.clock.now() + 30_000);
    const other = t.wsUrl.replace('/cameras/gate/', '/cameras/mute/');
    expect(await open(other)).toMatchObject({ status: 401, body: { error: { message: 'the live-view ticket is for another camera' } } });
    const late = (await ticket('gate', r.tokens.technician)).json() as { wsUrl: string };
    r.clock.advance(30_001);
    expect(await open(late.wsUrl)).toMatchObject({ status: 401, body: { error: { code: 'REG_UNAUTHORIZED', message: 'the live-view ticket has expired; request a new one' } } });
    expect(await open(late.wsUrl)).toMatchObject({ status: 401, body: { error: { message: 'unknown or already used live-view ticket' } } });
  });

  it('relays one ffmpeg to every viewer, aligned on MPEG-TS packets, and stops it when the last viewer leaves', async () => {
    const a = await watch('gate');
    const b = await watch('gate');
    const stats = r.app.liveView.stats();
    expect(stats.relays).toHaveLength(1);
    expect(stats.relays[0]).toMatchObject({ gatewayId: 'gw-live', cameraId: 'gate', profile: 'Profile_1', viewers: 2 });
    const pid = stats.relays[0]!.pid!;
    for (const v of [a, b]) {
      await waitUntil(() => v.messages.length >= 3, 'video chunks');
      // node-rtsp-stream's header: "jsmp" + width, height (the inventory's 321x185, made even).
      expect(v.messages[0]!.subarray(0, 4).toString()).toBe('jsmp');
      expect([v.messages[0]!.readUInt16BE(4), v.messages[0]!.readUInt16BE(6)]).toEqual([322, 186]);
      const video = Buffer.concat(v.messages.slice(1));
      for (let i = 0; i < video.length; i += 188) expect(video[i]).toBe(0x47);
    }
    // ffmpeg got the camera's credentials; nobody else did.
    const args = readFileSync(`${ffmpeg}.args`, 'utf8').split('\n');
    expect(args.slice(0, 2)).toEqual(['-i', `rtsp://probe:${PASSWORD}@10.9.8.7:8554/stream1`]);
    expect(args).toEqual(expect.arrayContaining(['mpeg1video', '-s', '322x186', '-nostdin']));
    a.ws.close();
    expect((await a.closed).code).toBe(1005);
    await waitUntil(() => r.app.liveView.stats().relays[0]?.viewers === 1, 'one viewer left');
    expect(pidGone(pid)).toBe(false);
    b.ws.close();
    await waitUntil(() => r.app.liveView.stats().relays.length === 0, 'the relay to stop');
    expect(pidGone(pid)).toBe(true);
    expect(r.logs.join('')).not.toContain(PASSWORD);
    expect(r.logs.join('')).toContain('live relay stopped');
    const audit = (await r.call('GET', '/v1/audit?action=camera.live', { token: r.tokens.viewer })).json() as { entries: Array<{ target: { id: string } }> };
    expect(audit.entries.map((e) => e.target.id)).toContain('gw-live/gate');
  });

  it('tells viewers why when ffmpeg fails (without the credentials) or the camera goes silent', async () => {
    const broken = await watch('broken');
    const why = await broken.closed;
    expect(why.code).toBe(1011);
    expect(why.reason).toMatch(/ffmpeg ended \(exit 1\).*401 Unauthorized/);
    expect(why.reason).not.toContain(PASSWORD);
    const mute = await watch('mute');
    expect(await mute.closed).toEqual({ code: 1011, reason: 'no video from the camera for 1 s' });
    await waitUntil(() => r.app.liveView.stats().relays.length === 0, 'no relay left');
    expect(r.logs.join('')).not.toContain(PASSWORD);
  });

  it('a Bearer token of a technician also opens the WebSocket (non-browser clients)', async () => {
    const v = await open(`${base.replace('http', 'ws')}/v1/gateways/gw-live/cameras/gate/live/ws`, { authorization: `Bearer ${r.tokens.technician}` });
    if (!isViewer(v)) throw new Error(`refused: ${JSON.stringify(v)}`);
    await waitUntil(() => v.messages.length >= 2, 'video');
    expect(existsSync(`${ffmpeg}.args`)).toBe(true);
    v.ws.close();
    await waitUntil(() => r.app.liveView.stats().relays.length === 0, 'the relay to stop');
  });
});
