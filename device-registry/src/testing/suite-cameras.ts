import { describe, expect, it } from 'vitest';
import { errorOf, seedGateway } from './fixtures.js';
import type { TestRegistry } from './harness.js';

const JPEG_B64 = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x02, 0xff, 0xd9]).toString('base64');

/**
 * Camera reports stored and read back on every database: newer-wins ordering, the fleet view
 * joined with sites, thumbnails, discovered devices, and cleanup with the gateway. The MQTT path
 * into these methods is tested in ingest/camera-follower.test.ts.
 */
export function cameraSuite(reg: () => TestRegistry): void {
  describe('camera status', () => {
    it('keeps the newest state by the gateway clock, whatever order status and events arrive in', async () => {
      const r = reg();
      await seedGateway(r, 'gw-c1', { site: 'hue', devices: 0 });
      const s = r.services.cameraStatus;
      const entry = { id: 'cam-a', state: 'degraded' as const, reasons: ['clock-skew' as const], since: 1000, checkedAt: 2000, clockSkewMs: -40_000, codec: 'H264', width: 1920, height: 1080 };
      expect(await s.onCamerasStatus('gw-c1', { v: 1, gw: 'gw-c1', ts: 2000, cameras: [entry] })).toBe(true);
      // A late event from the backlog, older than the status: ignored.
      expect(await s.onCameraEvent('gw-c1', { kind: 'state', cameraId: 'cam-a', ts: 1500, data: { state: 'unreachable', previous: 'online', reasons: ['timeout'] } })).toBe(false);
      expect(await s.onCameraEvent('gw-c1', { kind: 'state', cameraId: 'cam-a', ts: 3000, data: { state: 'unauthorized', previous: 'degraded', reasons: ['rtsp-auth'], code: 'EDGE_CAMERA_AUTH' } })).toBe(true);
      // An older retained status (e.g. redelivered) does not undo it.
      await s.onCamerasStatus('gw-c1', { v: 1, gw: 'gw-c1', ts: 2000, cameras: [entry] });
      await s.onCameraEvent('gw-c1', { kind: 'inventory', cameraId: 'cam-a', ts: 3000, inventory: { model: 'M1', profiles: [{ token: 'p1', streamUri: 'rtsp://10.0.0.1/s' }] } });
      expect(await s.onCameraEvent('gw-c1', { kind: 'inventory', cameraId: 'cam-a', ts: 2500, inventory: { model: 'OLD', profiles: [] } })).toBe(false);
      const res = await r.call('GET', '/v1/gateways/gw-c1/cameras/cam-a/status', { token: r.tokens.viewer });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toMatchObject({ state: 'unauthorized', reasons: ['rtsp-auth'], code: 'EDGE_CAMERA_AUTH', since: 3000, clockSkewMs: -40_000, codec: 'H264', width: 1920, height: 1080, inventory: { model: 'M1' }, registered: false });
      // Unknown gateways are ignored.
      expect(await s.onCamerasStatus('gw-nobody', { v: 1, gw: 'gw-nobody', ts: 1, cameras: [entry] })).toBe(false);
      expect((await r.call('GET', '/v1/gateways/gw-nobody/cameras/status', { token: r.tokens.viewer })).statusCode).toBe(404);
    });

    it('lists the fleet by site and state, keeps the newest thumbnail, and forgets a deleted gateway', async () => {
      const r = reg();
      await seedGateway(r, 'gw-c1', { site: 'hue', devices: 0 });
      await seedGateway(r, 'gw-c2', { site: 'danang', devices: 0 });
      const s = r.services.cameraStatus;
      const st = (gw: string, id: string, state: 'online' | 'unreachable') => s.onCamerasStatus(gw, { v: 1, gw, ts: 5, cameras: [{ id, state, reasons: state === 'online' ? [] : ['timeout'], since: 1, checkedAt: 5 }] });
      await st('gw-c1', 'a', 'online');
      await st('gw-c2', 'b', 'unreachable');
      const thumb = (ts: number) => s.onThumbnail('gw-c1', { v: 1, gw: 'gw-c1', cam: 'a', ts, mime: 'image/jpeg', width: 160, height: 90, data: JPEG_B64 });
      expect(await thumb(10)).toBe(true);
      expect(await thumb(9)).toBe(false);
      const list = async (q: string) => ((await r.call('GET', `/v1/cameras/status${q}`, { token: r.tokens.viewer })).json() as { cameras: Array<Record<string, unknown>> }).cameras;
      expect((await list('')).map((c) => [c.gatewayId, c.cameraId, c.siteId, c.state])).toEqual([['gw-c1', 'a', 'hue', 'online'], ['gw-c2', 'b', 'danang', 'unreachable']]);
      expect((await list('?state=unreachable&site=danang')).map((c) => c.cameraId)).toEqual(['b']);
      expect((await list('?site=hue'))[0]).toMatchObject({ thumbnail: { ts: 10, width: 160, height: 90 } });
      expect((await r.call('DELETE', '/v1/gateways/gw-c1', { token: r.tokens.admin })).statusCode).toBe(204);
      expect((await list('')).map((c) => c.cameraId)).toEqual(['b']);
      await seedGateway(r, 'gw-c1', { site: 'hue', devices: 0 });
      expect((await r.call('GET', '/v1/gateways/gw-c1/cameras/a/thumbnail', { token: r.tokens.viewer })).statusCode).toBe(404);
    });

    it('turns an accepted discovery into a camera record, once', async () => {
      const r = reg();
      await seedGateway(r, 'gw-c1', { devices: 0 });
      const s = r.services.cameraStatus;
      const found = (ts: number) => s.onCameraEvent('gw-c1', { kind: 'discovered', ts, data: { epr: 'urn:uuid:1234', xaddrs: ['http://[fd00::7]:8899/onvif/device_service'], scopes: [], types: [], name: 'Yard', from: 'fd00::7' } });
      await found(100);
      await found(200);
      const url = '/v1/gateways/gw-c1/discovered-cameras/urn:uuid:1234/accept';
      const ok = await r.call('POST', url, { token: r.tokens.technician, body: { id: 'yard' } });
      expect(ok.statusCode, ok.body).toBe(201);
      expect(ok.json()).toMatchObject({ camera: { id: 'yard', name: 'Yard', host: 'fd00::7', onvifPort: 8899, hasPassword: false }, discovered: { state: 'accepted', firstSeen: 100, lastSeen: 200 } });
      const again = await r.call('POST', url, { token: r.tokens.technician, body: { id: 'yard-2' } });
      expect([again.statusCode, errorOf(again).code]).toEqual([409, 'REG_CONFLICT']);
      const dismiss = await r.call('POST', '/v1/gateways/gw-c1/discovered-cameras/urn:uuid:1234/dismiss', { token: r.tokens.technician });
      expect(dismiss.statusCode).toBe(409);
      const status = (await r.call('GET', '/v1/gateways/gw-c1/cameras/status', { token: r.tokens.viewer })).json() as { cameras: Array<Record<string, unknown>> };
      expect(status.cameras).toMatchObject([{ cameraId: 'yard', registered: true, state: 'unknown', updatedAt: null }]);
    });
  });
}
