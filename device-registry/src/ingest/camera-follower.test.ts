import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Channel, encodeCamerasStatus, encodeCameraThumbnail, encodeEvent, encodeEventsMessage, topicFor, type CamerasStatusMessage, type GatewayEvent } from '@cityedge/contract';
import { EmbeddedBroker } from '../broker/embedded-broker.js';
import { AuditLog, TestClient, quiet, waitUntil } from '../broker/testing/mqtt-test-kit.js';
import { enroll, errorOf, seedGateway } from '../testing/fixtures.js';
import { startTestRegistry, type TestRegistry } from '../testing/harness.js';
import { sqliteStoreFactory, type TestStore } from '../testing/stores.js';
import { CameraFollower } from './camera-follower.js';

/** A JPEG as far as the markers go (SOI, APP0, EOI): the follower checks markers, not pixels. */
const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0xff, 0xd9]);
const T0 = 1_900_000_000_000;

describe('camera follower: gateways report camera state, inventory, thumbnails and discoveries', () => {
  let db: TestStore;
  let r: TestRegistry;
  let broker: EmbeddedBroker;
  let follower: CameraFollower;
  let gw: TestClient;
  let seq = 0;

  const event = (e: Partial<GatewayEvent> & { type: string }): GatewayEvent => ({ ts: T0, severity: 'info', message: e.type, ...e });
  const publishEvents = async (client: TestClient, gwId: string, events: GatewayEvent[]) => {
    await client.client.publishAsync(topicFor(gwId, Channel.events), encodeEventsMessage(gwId, ++seq, events.map(encodeEvent)), { qos: 1 });
  };
  const status = (cameras: CamerasStatusMessage['cameras'], gwId = 'gw-cams'): string => encodeCamerasStatus({ v: 1, gw: gwId, ts: T0, cameras });
  const api = async (url: string, token = r.tokens.viewer) => {
    const res = await r.call('GET', url, { token });
    expect(res.statusCode, res.body).toBe(200);
    return res.json() as { cameras: Array<Record<string, any>> };
  };
  const cam = async (id: string) => (await api('/v1/gateways/gw-cams/cameras/status')).cameras.find((c) => c.cameraId === id);

  beforeAll(async () => {
    db = await sqliteStoreFactory();
    r = await startTestRegistry(db.store);
    const { code } = await seedGateway(r, 'gw-cams', { site: 'hue', devices: 0 });
    const identity = await enroll(r, code);
    await seedGateway(r, 'gw-other', { site: 'danang', devices: 0 });
    expect((await r.call('POST', '/v1/gateways/gw-cams/cameras', { token: r.tokens.technician, body: { id: 'gate', name: 'Main gate', host: '10.0.0.21', username: 'probe', password: 'cam-pass-1' } })).statusCode).toBe(201);
    broker = new EmbeddedBroker({ port: 0, credentials: r.services.credentials, audit: new AuditLog().sink, logger: quiet });
    await broker.start();
    gw = await TestClient.connect(broker.url, 'gw-cams', identity.mqtt.password, 'gw-cams');
    // Retained before the follower starts: it must pick it up at subscription.
    await gw.client.publishAsync(topicFor('gw-cams', Channel.cameras), status([{ id: 'gate', state: 'online', reasons: [], since: T0 - 5000, checkedAt: T0, codec: 'JPEG', width: 320, height: 184 }]), { qos: 1, retain: true });
    follower = new CameraFollower({ connection: broker.serviceConnection(), listener: r.services.cameraStatus, logger: quiet });
    await follower.start();
  });
  afterAll(async () => {
    await gw?.end();
    await follower?.stop();
    await broker?.stop();
    await r?.close();
    await db?.cleanup();
  });

  it('shows the retained status found at start, and registered cameras that have not reported as unknown', async () => {
    await waitUntil(() => follower.stats().statuses >= 1, 'the retained status');
    await follower.idle();
    const gate = await cam('gate');
    expect(gate).toMatchObject({ registered: true, name: 'Main gate', state: 'online', since: T0 - 5000, checkedAt: T0, codec: 'JPEG', width: 320, height: 184, inventory: null, thumbnail: null });
    await gw.client.publishAsync(topicFor('gw-cams', Channel.cameras), status([
      { id: 'gate', state: 'online', reasons: [], since: T0 - 5000, checkedAt: T0 + 1000, codec: 'JPEG', width: 320, height: 184 },
      { id: 'Bridge-2', state: 'degraded', reasons: ['clock-skew', 'some-future-reason' as never], since: T0, checkedAt: T0 + 1000, clockSkewMs: -95_000 },
    ]), { qos: 1, retain: true });
    await waitUntil(() => follower.stats().statuses >= 2, 'the second status');
    await follower.idle();
    expect(await cam('Bridge-2')).toMatchObject({ registered: false, name: null, state: 'degraded', reasons: ['clock-skew'], clockSkewMs: -95_000 });
    expect((await cam('gate'))?.checkedAt).toBe(T0 + 1000);
  });

  it('applies camera state and inventory events, strips credentials from URIs, and ignores stale ones', async () => {
    await publishEvents(gw, 'gw-cams', [
      event({ type: 'device.offline', dev: 'th-1' }),
      event({ type: 'camera.unauthorized', ts: T0 + 2000, severity: 'alarm', dev: 'gate', data: { state: 'unauthorized', previous: 'online', reasons: ['onvif-auth'], code: 'EDGE_CAMERA_AUTH' } }),
      event({
        type: 'camera.inventory',
        ts: T0 + 2000,
        dev: 'gate',
        data: {
          manufacturer: 'Axis',
          model: 'P1375',
          firmware: '10.12',
          serial: 'ACCC8E000001',
          profiles: [{ token: 'Profile_1', encoding: 'H264', width: 1920, height: 1080, streamUri: 'rtsp://admin:leaked@10.0.0.21:554/axis-media?token=abc&resolution=1080p' }],
          snapshotUri: 'http://user:pw@10.0.0.21/jpg/image.jpg',
        },
      }),
    ]);
    // Older than what is stored: must not win.
    await publishEvents(gw, 'gw-cams', [event({ type: 'camera.online', ts: T0 + 1500, dev: 'gate', data: { state: 'online', previous: 'unknown', reasons: [] } })]);
    await waitUntil(() => follower.stats().cameraEvents >= 3, 'the camera events');
    await follower.idle();
    const gate = await cam('gate');
    expect(gate).toMatchObject({ state: 'unauthorized', reasons: ['onvif-auth'], code: 'EDGE_CAMERA_AUTH', since: T0 + 2000 });
    expect(gate?.inventory).toEqual({
      manufacturer: 'Axis',
      model: 'P1375',
      firmware: '10.12',
      serial: 'ACCC8E000001',
      profiles: [{ token: 'Profile_1', encoding: 'H264', width: 1920, height: 1080, streamUri: 'rtsp://10.0.0.21:554/axis-media?token=***&resolution=1080p' }],
      snapshotUri: 'http://10.0.0.21/jpg/image.jpg',
    });
    expect(JSON.stringify(await api('/v1/gateways/gw-cams/cameras/status'))).not.toMatch(/leaked|abc|pw@/);
    // The registry's camera record shows the probed inventory too.
    const record = (await r.call('GET', '/v1/gateways/gw-cams/cameras/gate', { token: r.tokens.viewer })).json() as { inventory: { model: string } };
    expect(record.inventory.model).toBe('P1375');
    expect(follower.stats().otherEvents).toBeGreaterThanOrEqual(1);
  });

  it('lists the fleet by site and state', async () => {
    expect((await api('/v1/cameras/status?state=unauthorized')).cameras.map((c) => [c.gatewayId, c.cameraId, c.siteId])).toEqual([['gw-cams', 'gate', 'hue']]);
    expect((await api('/v1/cameras/status?site=hue')).cameras.map((c) => c.cameraId)).toEqual(['Bridge-2', 'gate']);
    expect((await api('/v1/cameras/status?site=danang')).cameras).toEqual([]);
    const bad = await r.call('GET', '/v1/cameras/status?state=sleeping', { token: r.tokens.viewer });
    expect(bad.statusCode).toBe(400);
    expect(errorOf(bad).field).toBe('querystring.state');
    expect((await r.call('GET', '/v1/cameras/status')).statusCode).toBe(401);
  });

  it('accepts misconfigured cameras and the inventory of a camera probed without ONVIF', async () => {
    const detail = 'cameras.credentials.alley.passwordFile: cannot read "/etc/cityedge/alley-pw" (ENOENT)';
    const before = follower.stats().cameraEvents;
    await publishEvents(gw, 'gw-cams', [
      event({ type: 'camera.misconfigured', ts: T0 + 3000, severity: 'warning', dev: 'alley-3', data: { state: 'misconfigured', previous: 'unknown', reasons: ['credentials-unreadable'], code: 'EDGE_CAMERA_CONFIG', detail } }),
      event({ type: 'camera.inventory', ts: T0 + 3000, dev: 'kiosk', data: { source: 'rtsp', profiles: [], streamUri: 'rtsp://admin:leaked@10.0.0.31/cam/realmonitor?channel=1&subtype=0', snapshotUri: 'http://10.0.0.31/snap.jpg?password=leaked' } }),
    ]);
    await waitUntil(() => follower.stats().cameraEvents >= before + 2, 'the misconfigured and inventory events');
    await follower.idle();
    expect(await cam('alley-3')).toMatchObject({ state: 'misconfigured', reasons: ['credentials-unreadable'], code: 'EDGE_CAMERA_CONFIG', since: T0 + 3000 });
    expect((await cam('kiosk'))?.inventory).toEqual({ source: 'rtsp', profiles: [], streamUri: 'rtsp://10.0.0.31/cam/realmonitor?channel=1&subtype=0', snapshotUri: 'http://10.0.0.31/snap.jpg?password=***' });
    await gw.client.publishAsync(topicFor('gw-cams', Channel.cameras), status([{ id: 'alley-3', state: 'misconfigured', reasons: ['credentials-unreadable'], detail, since: T0 + 3000, checkedAt: T0 + 4000 }]), { qos: 1, retain: true });
    await waitUntil(() => (follower.stats().statuses ?? 0) >= 3, 'the status with a misconfigured camera');
    await follower.idle();
    expect((await api('/v1/cameras/status?state=misconfigured')).cameras.map((c) => [c.cameraId, c.state, c.checkedAt])).toEqual([['alley-3', 'misconfigured', T0 + 4000]]);
    expect(follower.stats().malformed).toBe(0);
  });

  it('serves the newest thumbnail as image/jpeg with an ETag, and refuses oversized or non-JPEG ones', async () => {
    expect((await r.call('GET', '/v1/gateways/gw-cams/cameras/gate/thumbnail', { token: r.tokens.viewer })).statusCode).toBe(404);
    const thumb = (ts: number, data: Buffer, cam = 'gate') => encodeCameraThumbnail({ v: 1, gw: 'gw-cams', cam, ts, mime: 'image/jpeg', width: 160, height: 92, data: data.toString('base64') });
    const before = follower.stats();
    await gw.client.publishAsync(topicFor('gw-cams', Channel.cameraThumbnail), thumb(T0 + 3000, JPEG), { qos: 1, retain: true });
    await gw.client.publishAsync(topicFor('gw-cams', Channel.cameraThumbnail), thumb(T0 + 4000, Buffer.from('not a jpeg at all')), { qos: 1 });
    await gw.client.publishAsync(topicFor('gw-cams', Channel.cameraThumbnail), thumb(T0 + 5000, Buffer.concat([JPEG.subarray(0, 4), Buffer.alloc(60_000), JPEG.subarray(-2)])), { qos: 1 });
    await waitUntil(() => follower.stats().malformed >= before.malformed + 2, 'the two bad thumbnails');
    await follower.idle();
    const res = await r.call('GET', '/v1/gateways/gw-cams/cameras/gate/thumbnail', { token: r.tokens.viewer });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('image/jpeg');
    expect(res.rawPayload.equals(JPEG)).toBe(true);
    expect((await cam('gate'))?.thumbnail).toEqual({ ts: T0 + 3000, width: 160, height: 92 });
    const again = await r.call('GET', '/v1/gateways/gw-cams/cameras/gate/thumbnail', { token: r.tokens.viewer, headers: { 'if-none-match': String(res.headers.etag) } });
    expect(again.statusCode).toBe(304);
  });

  it('counts malformed payloads and payloads naming another gateway, and keeps going', async () => {
    const before = follower.stats();
    const topic = topicFor('gw-cams', Channel.cameras);
    const bad = ['not json', '[]', '{"v":1}', status([{ id: 'gate', state: 'asleep' as never, reasons: [], since: 1, checkedAt: 1 }]), status([{ id: 'bad id!', state: 'online', reasons: [], since: 1, checkedAt: 1 }]), 'x'.repeat(3 * 1024 * 1024)];
    for (const p of bad) await gw.client.publishAsync(topic, p, { qos: 1 });
    await gw.client.publishAsync(topic, status([{ id: 'gate', state: 'online', reasons: [], since: 1, checkedAt: T0 + 9999 }], 'gw-other'), { qos: 1 });
    const eventsTopic = topicFor('gw-cams', Channel.events);
    await gw.client.publishAsync(eventsTopic, 'garbage', { qos: 1 });
    // One malformed camera event among good ones: only it is dropped.
    await publishEvents(gw, 'gw-cams', [
      event({ type: 'camera.online', ts: T0 + 6000, dev: 'gate', data: { state: 'degraded', reasons: [] } }),
      event({ type: 'camera.inventory', ts: T0 + 6000, data: { profiles: [] } }),
      event({ type: 'camera.online', ts: T0 + 6000, dev: 'gate', data: { state: 'online', previous: 'unauthorized', reasons: [] } }),
    ]);
    await waitUntil(() => follower.stats().cameraEvents >= before.cameraEvents + 1, 'the good event');
    await follower.idle();
    const after = follower.stats();
    expect(after.malformed - before.malformed).toBe(bad.length + 1 + 2);
    expect(after.mismatched - before.mismatched).toBe(1);
    expect(await cam('gate')).toMatchObject({ state: 'online', since: T0 + 6000, code: null });
    expect(after.listenerErrors).toBe(0);
  });

  it('keeps discovered devices untrusted until a technician accepts (creating a camera) or dismisses them', async () => {
    const found = (epr: string, host: string, ts: number, name?: string) =>
      event({ type: 'camera.discovered', ts, data: { epr, xaddrs: [`http://admin:x@${host}:8080/onvif/device_service`], scopes: ['onvif://www.onvif.org/name/Lobby'], types: ['dn:NetworkVideoTransmitter'], ...(name && { name }), hardware: 'SimCam', from: host } });
    const n = follower.stats().cameraEvents;
    await publishEvents(gw, 'gw-cams', [found('urn:uuid:aaaa-1', '10.0.0.50', T0, 'Lobby'), found('urn:uuid:bbbb-2', '10.0.0.51', T0)]);
    await waitUntil(() => follower.stats().cameraEvents >= n + 2, 'the discoveries');
    await follower.idle();
    const list = async (q = '') => ((await r.call('GET', `/v1/gateways/gw-cams/discovered-cameras${q}`, { token: r.tokens.viewer })).json() as { discovered: Array<Record<string, any>> }).discovered;
    expect(await list()).toMatchObject([
      { epr: 'urn:uuid:aaaa-1', name: 'Lobby', state: 'discovered', xaddrs: ['http://10.0.0.50:8080/onvif/device_service'], from: '10.0.0.50', cameraId: null },
      { epr: 'urn:uuid:bbbb-2', state: 'discovered' },
    ]);
    const accept = (epr: string, token: string, body: unknown = { id: 'lobby', username: 'probe', password: 'lobby-secret-9' }) => r.call('POST', `/v1/gateways/gw-cams/discovered-cameras/${encodeURIComponent(epr)}/accept`, { token, body });
    expect((await accept('urn:uuid:aaaa-1', r.tokens.viewer)).statusCode).toBe(403);
    expect((await r.call('POST', '/v1/gateways/gw-cams/discovered-cameras/urn%3Auuid%3Aaaaa-1/accept', { body: { id: 'lobby' } })).statusCode).toBe(401);
    const bad = await accept('urn:uuid:aaaa-1', r.tokens.technician, { id: 'Lobby Cam' });
    expect([bad.statusCode, errorOf(bad).field]).toEqual([400, 'body.id']);
    expect((await accept('urn:uuid:none', r.tokens.technician)).statusCode).toBe(404);
    const ok = await accept('urn:uuid:aaaa-1', r.tokens.technician);
    expect(ok.statusCode, ok.body).toBe(201);
    expect(ok.json()).toMatchObject({ camera: { id: 'lobby', name: 'Lobby', host: '10.0.0.50', onvifPort: 8080, username: 'probe', hasPassword: true }, discovered: { state: 'accepted', cameraId: 'lobby', decidedBy: expect.stringMatching(/^token:/) } });
    expect(ok.body).not.toContain('lobby-secret-9');
    expect((await accept('urn:uuid:aaaa-1', r.tokens.technician, { id: 'lobby-2' })).statusCode).toBe(409);
    const dismissed = await r.call('POST', '/v1/gateways/gw-cams/discovered-cameras/urn:uuid:bbbb-2/dismiss', { token: r.tokens.technician });
    expect(dismissed.statusCode, dismissed.body).toBe(200);
    expect(dismissed.json()).toMatchObject({ state: 'dismissed' });
    // Seen again: still dismissed, last seen moves on.
    await publishEvents(gw, 'gw-cams', [found('urn:uuid:bbbb-2', '10.0.0.51', T0 + 60_000)]);
    await waitUntil(() => follower.stats().cameraEvents >= n + 3, 'the rediscovery');
    await follower.idle();
    expect(await list('?state=dismissed')).toMatchObject([{ epr: 'urn:uuid:bbbb-2', state: 'dismissed', firstSeen: T0, lastSeen: T0 + 60_000 }]);
    expect(await list('?state=discovered')).toEqual([]);
    const audit = (await r.call('GET', '/v1/audit?limit=50', { token: r.tokens.viewer })).body;
    expect(audit).toContain('camera.discovered.accept');
    expect(audit).toContain('camera.discovered.dismiss');
    expect(audit).not.toContain('lobby-secret-9');
    expect(r.logs.join('')).not.toContain('lobby-secret-9');
  });

  it('a gateway cannot report for another: the broker ACL refuses it, and unknown gateways are ignored', async () => {
    // gw-cams publishing under gw-other's root is denied by the broker (the connection is closed). Last test: it ends gw's session.
    gw.client.publish(topicFor('gw-other', Channel.cameras), status([{ id: 'x', state: 'online', reasons: [], since: 1, checkedAt: 1 }], 'gw-other'), { qos: 1 });
    await gw.waitClosed();
    expect((await api('/v1/gateways/gw-other/cameras/status')).cameras).toEqual([]);
    // The service account may publish anywhere: a gateway the registry does not know is ignored.
    const svc = await TestClient.connect(broker.url, broker.serviceConnection().username, broker.serviceConnection().password, `${broker.serviceConnection().username}-test`);
    const n = follower.stats().statuses;
    await svc.client.publishAsync(topicFor('gw-ghost', Channel.cameras), status([{ id: 'x', state: 'online', reasons: [], since: 1, checkedAt: 1 }], 'gw-ghost'), { qos: 1 });
    await waitUntil(() => follower.stats().statuses > n, 'the ghost status');
    await follower.idle();
    await svc.end();
    expect((await api('/v1/cameras/status')).cameras.some((c) => c.gatewayId === 'gw-ghost')).toBe(false);
  });
});
