import { describe, expect, it } from 'vitest';
import { errorOf, seedGateway } from './fixtures.js';
import type { TestRegistry } from './harness.js';

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** Bodies that must each be a 4xx naming `field` (a prefix of error.field), never a 5xx. */
const BAD_BODIES: Array<{ what: string; method: Method; url: string; body: unknown; field: string; status?: number }> = [
  { what: 'site: missing name', method: 'POST', url: '/v1/sites', body: { id: 's1', timeZone: 'UTC' }, field: 'body.name' },
  { what: 'site: name is a number', method: 'POST', url: '/v1/sites', body: { id: 's1', name: 5, timeZone: 'UTC' }, field: 'body.name' },
  { what: 'site: unknown key', method: 'POST', url: '/v1/sites', body: { id: 's1', name: 'x', timeZone: 'UTC', colour: 'red' }, field: 'body.colour' },
  { what: 'site: bad time zone', method: 'POST', url: '/v1/sites', body: { id: 's1', name: 'x', timeZone: 'Mars/Olympus' }, field: 'body.timeZone' },
  { what: 'site: latitude out of range', method: 'POST', url: '/v1/sites', body: { id: 's1', name: 'x', timeZone: 'UTC', location: { lat: 91, lon: 0 } }, field: 'body.location.lat' },
  { what: 'site: huge name', method: 'POST', url: '/v1/sites', body: { id: 's1', name: 'n'.repeat(100_000), timeZone: 'UTC' }, field: 'body.name' },
  { what: 'site: id with capitals', method: 'POST', url: '/v1/sites', body: { id: 'North', name: 'x', timeZone: 'UTC' }, field: 'body.id' },
  { what: 'gateway: bad id', method: 'POST', url: '/v1/gateways', body: { id: 'GW/1' }, field: 'body.id' },
  { what: 'gateway: tags not a list', method: 'POST', url: '/v1/gateways', body: { id: 'gw-x', tags: 'a,b' }, field: 'body.tags' },
  { what: 'gateway: unknown site', method: 'POST', url: '/v1/gateways', body: { id: 'gw-x', siteId: 'nowhere' }, field: 'body.siteId' },
  { what: 'gateway: ttl as a string', method: 'POST', url: '/v1/gateways', body: { id: 'gw-x', codeTtlSeconds: '600' }, field: 'body.codeTtlSeconds' },
  { what: 'gateway: body is an array', method: 'POST', url: '/v1/gateways', body: [1, 2], field: 'body' },
  { what: 'gateway: body is null', method: 'POST', url: '/v1/gateways', body: 'null', field: 'body' },
  { what: 'device: missing profile', method: 'POST', url: '/v1/gateways/gw-fz/devices', body: { id: 'd9', lineId: 'bus1' }, field: 'body.profile' },
  { what: 'device: unit id as a string', method: 'POST', url: '/v1/gateways/gw-fz/devices', body: { id: 'd9', lineId: 'bus1', profile: 'sht20', unitId: '3' }, field: 'body.unitId' },
  { what: 'device: unit id 300', method: 'POST', url: '/v1/gateways/gw-fz/devices', body: { id: 'd9', lineId: 'bus1', profile: 'sht20', unitId: 300 }, field: 'body.unitId' },
  { what: 'device: unit id 0 on a serial line', method: 'POST', url: '/v1/gateways/gw-fz/devices', body: { id: 'd9', lineId: 'rs485', profile: 'sht20', unitId: 0 }, field: 'body.unitId' },
  { what: 'device: unknown profile', method: 'POST', url: '/v1/gateways/gw-fz/devices', body: { id: 'd9', lineId: 'bus1', profile: 'no-such-sensor' }, field: 'body.profile' },
  { what: 'device: override of an unknown point', method: 'POST', url: '/v1/gateways/gw-fz/devices', body: { id: 'd9', lineId: 'bus1', profile: 'sht20', points: { nope: { enabled: false } } }, field: 'body.points' },
  { what: 'device: unknown line', method: 'POST', url: '/v1/gateways/gw-fz/devices', body: { id: 'd9', lineId: 'nope', profile: 'sht20' }, field: 'body.lineId' },
  { what: 'device: unit id taken on the line', method: 'POST', url: '/v1/gateways/gw-fz/devices', body: { id: 'd9', lineId: 'bus1', profile: 'sht20', unitId: 1 }, field: 'body.unitId' },
  { what: 'device: bad id characters', method: 'POST', url: '/v1/gateways/gw-fz/devices', body: { id: 'd 9!', lineId: 'bus1', profile: 'sht20' }, field: 'body.id' },
  { what: 'device: duplicate id', method: 'POST', url: '/v1/gateways/gw-fz/devices', body: { id: 'th-1', lineId: 'bus1', profile: 'sht20', unitId: 9 }, field: 'body.id', status: 409 },
  { what: 'device: poll interval fraction', method: 'POST', url: '/v1/gateways/gw-fz/devices', body: { id: 'd9', lineId: 'bus1', profile: 'sht20', pollIntervalMs: 1000.5 }, field: 'body.pollIntervalMs' },
  { what: 'line: rtu without path', method: 'PUT', url: '/v1/gateways/gw-fz/lines/l2', body: { type: 'rtu' }, field: 'body.path' },
  { what: 'line: unknown type', method: 'PUT', url: '/v1/gateways/gw-fz/lines/l2', body: { type: 'udp', host: 'x' }, field: 'body.type' },
  { what: 'line: port 70000', method: 'PUT', url: '/v1/gateways/gw-fz/lines/l2', body: { type: 'tcp', host: 'x', port: 70000 }, field: 'body.port' },
  { what: 'line: bad line id', method: 'PUT', url: '/v1/gateways/gw-fz/lines/bad%20id', body: { type: 'tcp', host: 'x' }, field: 'params.lineId' },
  { what: 'camera: missing host', method: 'POST', url: '/v1/gateways/gw-fz/cameras', body: { id: 'cam1', name: 'Gate' }, field: 'body.host' },
  { what: 'config: document not an object', method: 'PUT', url: '/v1/gateways/gw-fz/config', body: { document: 'lines: []' }, field: 'body.document' },
  { what: 'config: document with a bad line', method: 'PUT', url: '/v1/gateways/gw-fz/config', body: { document: { gateway: { id: 'gw-fz' }, forwarding: { brokerUrl: 'mqtt://b' }, lines: [{ id: 'x', type: 'tcp' }] } }, field: 'body.document.lines[0].host', status: 422 },
  { what: 'config: document for another gateway', method: 'PUT', url: '/v1/gateways/gw-fz/config', body: { document: { gateway: { id: 'gw-other' }, forwarding: { brokerUrl: 'mqtt://b' } } }, field: 'body.document.gateway.id', status: 422 },
  { what: 'rollout: neither site nor tag', method: 'POST', url: '/v1/rollouts', body: { canary: 1 }, field: 'body.site' },
  { what: 'rollout: negative canary', method: 'POST', url: '/v1/rollouts', body: { tag: 'x', canary: -1 }, field: 'body.canary' },
  { what: 'rollback: version not a number', method: 'POST', url: '/v1/gateways/gw-fz/configs/abc/rollback', body: {}, field: 'params.version' },
  { what: 'readings: missing device', method: 'GET', url: '/v1/gateways/gw-fz/readings', body: undefined, field: 'querystring.device' },
  { what: 'readings: limit 0', method: 'GET', url: '/v1/gateways/gw-fz/readings?device=th-1&limit=0', body: undefined, field: 'querystring.limit' },
  { what: 'enroll: code is a number', method: 'POST', url: '/v1/enroll', body: { code: 123456 }, field: 'body.code' },
  { what: 'enroll: huge code', method: 'POST', url: '/v1/enroll', body: { code: 'A'.repeat(10_000) }, field: 'body.code' },
];

export function apiSuite(reg: () => TestRegistry): void {
  describe('API input and roles', () => {
    it('answers every bad body with a 4xx naming the field, never a 5xx', async () => {
      const r = reg();
      await seedGateway(r, 'gw-fz');
      expect((await r.call('PUT', '/v1/gateways/gw-fz/lines/rs485', { token: r.tokens.technician, body: { type: 'rtu', path: '/dev/ttyUSB0' } })).statusCode).toBe(201);
      const failures: string[] = [];
      for (const c of BAD_BODIES) {
        const res = await r.call(c.method, c.url, { token: r.tokens.admin, ...(c.body !== undefined && { body: typeof c.body === 'string' ? c.body : JSON.stringify(c.body) }), headers: { 'content-type': 'application/json' } });
        const err = res.statusCode < 500 && res.statusCode >= 400 ? errorOf(res) : undefined;
        const ok = res.statusCode === (c.status ?? 400) && err?.field?.startsWith(c.field) === true && err.message.includes(c.field);
        if (!ok) failures.push(`${c.what}: ${res.statusCode} ${res.body.slice(0, 300)}`);
      }
      expect(failures).toEqual([]);
    });

    it('answers malformed JSON, a wrong media type and an oversized body with coded 4xx', async () => {
      const r = reg();
      const bad = await r.call('POST', '/v1/sites', { token: r.tokens.admin, body: '{"id": ', headers: { 'content-type': 'application/json' } });
      expect([bad.statusCode, errorOf(bad).code]).toEqual([400, 'REG_MALFORMED_BODY']);
      const proto = await r.call('POST', '/v1/sites', { token: r.tokens.admin, body: '{"__proto__": {"admin": true}}', headers: { 'content-type': 'application/json' } });
      expect(proto.statusCode).toBe(400);
      const media = await r.call('POST', '/v1/sites', { token: r.tokens.admin, body: '<site/>', headers: { 'content-type': 'application/xml' } });
      expect([media.statusCode, errorOf(media).code]).toEqual([415, 'REG_UNSUPPORTED_MEDIA_TYPE']);
      const big = await r.call('POST', '/v1/sites', { token: r.tokens.admin, body: JSON.stringify({ id: 's', name: 'x'.repeat(2_000_000), timeZone: 'UTC' }), headers: { 'content-type': 'application/json' } });
      expect([big.statusCode, errorOf(big).code]).toEqual([413, 'REG_PAYLOAD_TOO_LARGE']);
      const route = await r.call('GET', '/v1/nothing-here', { token: r.tokens.admin });
      expect([route.statusCode, errorOf(route).code]).toEqual([404, 'REG_NOT_FOUND']);
      for (const res of [bad, proto, media, big, route]) expect(res.body).not.toMatch(/at .*\.(ts|js):\d+/);
    });

    it('401 without or with an unknown or revoked token, 403 for a role that may not', async () => {
      const r = reg();
      const none = await r.call('GET', '/v1/sites');
      expect([none.statusCode, errorOf(none).code]).toEqual([401, 'REG_UNAUTHORIZED']);
      expect(none.headers['www-authenticate']).toMatch(/^Bearer/);
      expect((await r.call('GET', '/v1/sites', { token: 'cer_not-a-real-token-at-all' })).statusCode).toBe(401);
      expect((await r.call('GET', '/v1/sites', { headers: { authorization: 'Token abc' } })).statusCode).toBe(401);

      const cases: Array<[string, Method, string, unknown, number]> = [
        [r.tokens.viewer, 'GET', '/v1/sites', undefined, 200],
        [r.tokens.viewer, 'POST', '/v1/sites', { id: 's1', name: 'x', timeZone: 'UTC' }, 403],
        [r.tokens.technician, 'POST', '/v1/sites', { id: 's1', name: 'x', timeZone: 'UTC' }, 201],
        [r.tokens.viewer, 'POST', '/v1/gateways', { id: 'gw-r' }, 403],
        [r.tokens.technician, 'POST', '/v1/gateways', { id: 'gw-r' }, 201],
        [r.tokens.viewer, 'POST', '/v1/gateways/gw-r/configs', {}, 403],
        [r.tokens.viewer, 'GET', '/v1/audit', undefined, 200],
        [r.tokens.technician, 'GET', '/v1/tokens', undefined, 403],
        [r.tokens.technician, 'POST', '/v1/tokens', { name: 'x', role: 'admin' }, 403],
        [r.tokens.technician, 'DELETE', '/v1/gateways/gw-r', undefined, 403],
        [r.tokens.technician, 'DELETE', '/v1/sites/s1', undefined, 403],
        [r.tokens.admin, 'GET', '/v1/tokens', undefined, 200],
        [r.tokens.admin, 'DELETE', '/v1/sites/s1', undefined, 204],
      ];
      const wrong: string[] = [];
      for (const [token, method, url, body, status] of cases) {
        const res = await r.call(method, url, { token, ...(body !== undefined && { body }) });
        if (res.statusCode !== status) wrong.push(`${method} ${url}: ${res.statusCode} ${res.body}`);
        if (status === 403 && errorOf(res).code !== 'REG_FORBIDDEN') wrong.push(`${method} ${url}: ${res.body}`);
      }
      expect(wrong).toEqual([]);

      const created = await r.call('POST', '/v1/tokens', { token: r.tokens.admin, body: { name: 'temp', role: 'viewer' } });
      expect(created.statusCode).toBe(201);
      const { id, token } = created.json() as { id: string; token: string };
      expect((await r.call('GET', '/v1/sites', { token })).statusCode).toBe(200);
      expect((await r.call('DELETE', `/v1/tokens/${id}`, { token: r.tokens.admin })).statusCode).toBe(204);
      expect((await r.call('GET', '/v1/sites', { token })).statusCode).toBe(401);
      const list = (await r.call('GET', '/v1/tokens', { token: r.tokens.admin })).json() as { tokens: Array<Record<string, unknown>> };
      expect(JSON.stringify(list)).not.toContain(token);
    });

    it('does not revoke the last admin token', async () => {
      const r = reg();
      const tokens = (await r.call('GET', '/v1/tokens', { token: r.tokens.admin })).json() as { tokens: Array<{ id: string; role: string }> };
      const admins = tokens.tokens.filter((t) => t.role === 'admin');
      expect(admins).toHaveLength(1);
      const res = await r.call('DELETE', `/v1/tokens/${admins[0]!.id}`, { token: r.tokens.admin });
      expect([res.statusCode, errorOf(res).code]).toEqual([409, 'REG_CONFLICT']);
    });

    it('creates, lists, changes and deletes sites, gateways, lines, devices and cameras', async () => {
      const r = reg();
      const t = r.tokens.technician;
      await seedGateway(r, 'gw-inv', { site: 'harbour', tags: ['flood', 'pilot'], devices: 2 });
      await seedGateway(r, 'gw-inv2', { tags: ['flood'] });
      const bySite = (await r.call('GET', '/v1/gateways?site=harbour', { token: r.tokens.viewer })).json() as { gateways: Array<{ id: string }> };
      expect(bySite.gateways.map((g) => g.id)).toEqual(['gw-inv']);
      const byTag = (await r.call('GET', '/v1/gateways?tag=flood', { token: r.tokens.viewer })).json() as { gateways: Array<{ id: string }> };
      expect(byTag.gateways.map((g) => g.id)).toEqual(['gw-inv', 'gw-inv2']);
      const patched = await r.call('PATCH', '/v1/gateways/gw-inv2', { token: t, body: { name: 'Pump station', tags: ['pumps'] } });
      expect(patched.json()).toMatchObject({ name: 'Pump station', tags: ['pumps'] });

      const site = await r.call('PATCH', '/v1/sites/harbour', { token: t, body: { location: { lat: 40.4, lon: -3.7 } } });
      expect(site.json()).toMatchObject({ id: 'harbour', location: { lat: 40.4, lon: -3.7 }, timeZone: 'Europe/Madrid' });
      const siteDel = await r.call('DELETE', '/v1/sites/harbour', { token: r.tokens.admin });
      expect([siteDel.statusCode, errorOf(siteDel).code]).toEqual([409, 'REG_CONFLICT']);

      const dev = await r.call('PUT', '/v1/gateways/gw-inv/devices/th-2', { token: t, body: { lineId: 'bus1', profile: 'sht20', unitId: 7, points: { humidity: { enabled: false } } } });
      expect(dev.statusCode, dev.body).toBe(200);
      expect(dev.json()).toMatchObject({ id: 'th-2', unitId: 7, points: { humidity: { enabled: false } } });
      const lineDel = await r.call('DELETE', '/v1/gateways/gw-inv/lines/bus1', { token: t });
      expect(lineDel.statusCode).toBe(409);
      expect((await r.call('DELETE', '/v1/gateways/gw-inv/devices/th-2', { token: t })).statusCode).toBe(204);
      expect((await r.call('GET', '/v1/gateways/gw-inv/devices/th-2', { token: t })).statusCode).toBe(404);
      const lines = (await r.call('GET', '/v1/gateways/gw-inv/lines', { token: t })).json() as { lines: unknown[] };
      expect(lines.lines).toEqual([expect.objectContaining({ id: 'bus1', type: 'tcp', host: '127.0.0.1', port: 5020 })]);

      const cam = await r.call('POST', '/v1/gateways/gw-inv/cameras', { token: t, body: { id: 'cam-gate', name: 'Gate', host: '10.1.1.9', username: 'onvif', password: 'camera-secret-77' } });
      expect(cam.statusCode, cam.body).toBe(201);
      expect(cam.json()).toMatchObject({ id: 'cam-gate', onvifPort: 80, hasPassword: true });
      expect(cam.body).not.toContain('camera-secret-77');
      expect(await r.services.cameras.password('gw-inv', 'cam-gate')).toBe('camera-secret-77');
      const kept = await r.call('PUT', '/v1/gateways/gw-inv/cameras/cam-gate', { token: t, body: { name: 'Main gate', host: '10.1.1.9', onvifPort: 8080 } });
      expect(kept.json()).toMatchObject({ name: 'Main gate', onvifPort: 8080, hasPassword: true });
      const stored = await r.store.inventory.getCamera('gw-inv', 'cam-gate');
      expect(stored?.passwordEnc).not.toContain('camera-secret-77');
      expect((await r.call('DELETE', '/v1/gateways/gw-inv/cameras/cam-gate', { token: t })).statusCode).toBe(204);

      expect((await r.call('DELETE', '/v1/gateways/gw-inv', { token: r.tokens.admin })).statusCode).toBe(204);
      expect(r.brokerIdentity.removed).toEqual(['gw-inv']);
      expect((await r.call('GET', '/v1/gateways/gw-inv', { token: t })).statusCode).toBe(404);
      expect((await r.call('DELETE', '/v1/sites/harbour', { token: r.tokens.admin })).statusCode).toBe(204);
    });

    it('serves its OpenAPI document at /openapi.json and a health check', async () => {
      const r = reg();
      const res = await r.call('GET', '/openapi.json');
      expect(res.statusCode).toBe(200);
      const doc = res.json() as { openapi: string; paths: Record<string, unknown> };
      expect(doc.openapi).toBe('3.1.0');
      expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/enroll', '/v1/gateways/{id}/config', '/v1/rollouts', '/v1/gateways/{id}/readings']));
      expect((await r.call('GET', '/healthz')).json()).toMatchObject({ status: 'ok' });
    });
  });
}
