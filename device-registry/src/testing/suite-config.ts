import { describe, expect, it } from 'vitest';
import { resolveGatewayConfig, builtinProfiles, createCatalog, verifySignedConfig, type ConfigReport } from '@cityedge/contract';
import { basicAuth, enroll, errorOf, seedGateway } from './fixtures.js';
import type { TestRegistry } from './harness.js';

interface Summary {
  version: number;
  state: string;
  source: string;
  basedOn: number | null;
}

export function report(gw: string, version: number, state: ConfigReport['state'], extra: Partial<ConfigReport> = {}): ConfigReport {
  return { v: 1, gw, version, state, ts: 1, running: state === 'committed' || state === 'applied' ? version : Math.max(0, version - 1), ...extra };
}

export function configSuite(reg: () => TestRegistry): void {
  describe('over-the-air configuration', () => {
    it("composes the gateway's document from its records, signs it with the registry key and publishes it", async () => {
      const r = reg();
      await seedGateway(r, 'gw-c1', { site: 'river', devices: 2 });
      const res = await r.call('POST', '/v1/gateways/gw-c1/configs', { token: r.tokens.technician, body: { note: 'first' } });
      expect(res.statusCode, res.body).toBe(201);
      expect(res.json()).toMatchObject({ version: 1, state: 'pending', source: 'composed', note: 'first', createdBy: 'tech-ana' });
      const [signed] = r.publisher.to('gw-c1');
      const doc = verifySignedConfig(signed, { gatewayId: 'gw-c1', publicKeysPem: [r.signingKey.publicKeyPem], minVersion: 0 });
      expect(doc.keyId).toBe(r.signingKey.keyId);
      expect(doc.config).toMatchObject({ version: 1, gateway: { id: 'gw-c1', site: 'river' }, forwarding: { brokerUrl: expect.stringMatching(/^mqtt:/), username: 'gw-c1' } });
      const resolved = resolveGatewayConfig(doc.config, createCatalog(builtinProfiles));
      expect(resolved.ok && resolved.value.lines[0]?.devices.map((d) => d.id)).toEqual(['th-1', 'th-2']);
      expect(JSON.stringify(doc.config)).not.toMatch(/password/i);
      // a tampered copy does not verify
      expect(() => verifySignedConfig({ ...signed, config: { ...signed!.config, lines: [] } }, { gatewayId: 'gw-c1', publicKeysPem: [r.signingKey.publicKeyPem], minVersion: 0 })).toThrow(/signature/);
    });

    it('versions only go up: each push, document and rollback takes the next version, never reused', async () => {
      const r = reg();
      const t = r.tokens.technician;
      await seedGateway(r, 'gw-c2');
      expect((await r.call('POST', '/v1/gateways/gw-c2/configs', { token: t, body: {} })).json()).toMatchObject({ version: 1 });
      await r.call('POST', '/v1/gateways/gw-c2/devices', { token: t, body: { id: 'th-9', lineId: 'bus1', profile: 'sht20', unitId: 9 } });
      expect((await r.call('POST', '/v1/gateways/gw-c2/configs', { token: t, body: {} })).json()).toMatchObject({ version: 2 });
      const rb = await r.call('POST', '/v1/gateways/gw-c2/configs/1/rollback', { token: t, body: { note: 'undo th-9' } });
      expect(rb.statusCode, rb.body).toBe(201);
      expect(rb.json()).toMatchObject({ version: 3, source: 'rollback', basedOn: 1 });
      const v1 = (await r.call('GET', '/v1/gateways/gw-c2/configs/1', { token: r.tokens.viewer })).json() as { document: Record<string, unknown> };
      const v3 = (await r.call('GET', '/v1/gateways/gw-c2/configs/3', { token: r.tokens.viewer })).json() as { document: Record<string, unknown>; signed: { version: number } };
      expect({ ...v3.document, version: 0 }).toEqual({ ...v1.document, version: 0 });
      expect(v3.document.version).toBe(3);
      expect(v3.signed.version).toBe(3);
      // a failed push does not use up a version; a rejected document neither
      const bad = await r.call('PUT', '/v1/gateways/gw-c2/config', { token: t, body: { document: { gateway: { id: 'gw-c2' } } } });
      expect(bad.statusCode).toBe(422);
      const put = await r.call('PUT', '/v1/gateways/gw-c2/config', { token: t, body: { document: { version: 99, gateway: { id: 'gw-c2' }, forwarding: { brokerUrl: 'mqtt://10.0.0.1' }, log: { level: 'debug' } } } });
      expect(put.statusCode, put.body).toBe(201);
      expect(put.json()).toMatchObject({ version: 4, source: 'document' });
      const list = (await r.call('GET', '/v1/gateways/gw-c2/configs', { token: r.tokens.viewer })).json() as { versions: Summary[] };
      expect(list.versions.map((v) => v.version)).toEqual([4, 3, 2, 1]);
      const published = r.publisher.to('gw-c2').map((s) => s.version);
      expect(published).toEqual([1, 2, 3, 4]);
      // the agent's own check accepts them in order and refuses a replay of an older one
      let min = 0;
      for (const s of r.publisher.to('gw-c2')) min = verifySignedConfig(s, { gatewayId: 'gw-c2', publicKeysPem: [r.signingKey.publicKeyPem], minVersion: min }).version;
      expect(() => verifySignedConfig(r.publisher.to('gw-c2')[2], { gatewayId: 'gw-c2', publicKeysPem: [r.signingKey.publicKeyPem], minVersion: min })).toThrow(/not newer/);
      // versions continue after the gateway is deleted and created again
      await r.call('DELETE', '/v1/gateways/gw-c2', { token: r.tokens.admin });
      await seedGateway(r, 'gw-c2');
      expect((await r.call('POST', '/v1/gateways/gw-c2/configs', { token: t, body: {} })).json()).toMatchObject({ version: 5 });
    });

    it('serves the newest version with an ETag and answers 304 to If-None-Match', async () => {
      const r = reg();
      const id = await enroll(r, (await seedGateway(r, 'gw-c3')).code);
      const auth = basicAuth('gw-c3', id.mqtt.password);
      const none = await r.call('GET', '/v1/gateways/gw-c3/config', { headers: auth });
      expect([none.statusCode, errorOf(none).code]).toEqual([404, 'REG_NOT_FOUND']);
      await r.call('POST', '/v1/gateways/gw-c3/configs', { token: r.tokens.technician, body: {} });
      const first = await r.call('GET', '/v1/gateways/gw-c3/config', { headers: auth });
      const etag = first.headers.etag as string;
      expect(etag).toBeTruthy();
      const again = await r.call('GET', '/v1/gateways/gw-c3/config', { headers: { ...auth, 'if-none-match': etag } });
      expect(again.statusCode).toBe(304);
      expect(again.body).toBe('');
      await r.call('POST', '/v1/gateways/gw-c3/configs', { token: r.tokens.technician, body: {} });
      const changed = await r.call('GET', '/v1/gateways/gw-c3/config', { headers: { ...auth, 'if-none-match': etag } });
      expect(changed.statusCode).toBe(200);
      expect(changed.headers.etag).not.toBe(etag);
      expect((changed.json() as { version: number }).version).toBe(2);
      // operators may read it too
      expect((await r.call('GET', '/v1/gateways/gw-c3/config', { token: r.tokens.viewer })).statusCode).toBe(200);
    });

    it('records reports: state moves forward only, and the running version shows on the gateway', async () => {
      const r = reg();
      await seedGateway(r, 'gw-c4');
      await r.call('POST', '/v1/gateways/gw-c4/configs', { token: r.tokens.technician, body: {} });
      expect(await r.services.fleet.applyReport(report('gw-c4', 1, 'applied'), 'gw-c4')).toBe(true);
      expect(await r.services.fleet.applyReport(report('gw-c4', 1, 'delivered'), 'gw-c4')).toBe(false);
      expect(await r.services.fleet.applyReport(report('gw-c4', 1, 'committed'), 'gw-c4')).toBe(true);
      expect(await r.services.fleet.applyReport(report('gw-c4', 1, 'committed'), 'gw-c4')).toBe(false);
      expect(await r.services.fleet.applyReport(report('gw-c4', 7, 'committed'), 'gw-c4')).toBe(false);
      expect(await r.services.fleet.applyReport(report('gw-c4', 1, 'rejected'), 'gw-other')).toBe(false);
      expect(await r.services.fleet.applyReport({ v: 1, gw: 'gw-c4', version: 'one' }, 'gw-c4')).toBe(false);
      const gw = (await r.call('GET', '/v1/gateways/gw-c4', { token: r.tokens.viewer })).json() as { config: { latestVersion: number; state: string }; status: { configVersionRunning: number } };
      expect(gw.config).toMatchObject({ latestVersion: 1, state: 'committed' });
      expect(gw.status.configVersionRunning).toBe(1);

      await r.call('POST', '/v1/gateways/gw-c4/configs', { token: r.tokens.technician, body: {} });
      await r.services.fleet.onReport(report('gw-c4', 2, 'rolled_back', { reason: 'devices answered worse: th-1 timeouts', running: 1 }), 'gw-c4');
      const v2 = (await r.call('GET', '/v1/gateways/gw-c4/configs/2', { token: r.tokens.viewer })).json() as { state: string; reason: string };
      expect(v2).toMatchObject({ state: 'rolled_back', reason: 'devices answered worse: th-1 timeouts' });
    });

    it('stores the version but answers 503 when the broker does not take it', async () => {
      const r = reg();
      await seedGateway(r, 'gw-c5');
      r.publisher.failing = true;
      const res = await r.call('POST', '/v1/gateways/gw-c5/configs', { token: r.tokens.technician, body: {} });
      expect([res.statusCode, errorOf(res).code]).toEqual([503, 'REG_BROKER_UNAVAILABLE']);
      expect(errorOf(res).message).toMatch(/version 1 is stored/);
      expect((await r.call('GET', '/v1/gateways/gw-c5/config', { token: r.tokens.viewer })).statusCode).toBe(200);
    });

    it('republishes the newest version of every gateway (a broker that lost its retained messages)', async () => {
      const r = reg();
      await seedGateway(r, 'gw-p1');
      await seedGateway(r, 'gw-p2');
      await seedGateway(r, 'gw-p3');
      for (const id of ['gw-p1', 'gw-p1', 'gw-p2']) await r.call('POST', `/v1/gateways/${id}/configs`, { token: r.tokens.technician, body: {} });
      r.publisher.published.length = 0;
      expect(await r.services.configs.republishAll()).toBe(2);
      expect(r.publisher.published.map((p) => [p.gatewayId, p.signed.version])).toEqual([
        ['gw-p1', 2],
        ['gw-p2', 1],
      ]);
    });

    it('takes a push without a body as one without a note', async () => {
      const r = reg();
      await seedGateway(r, 'gw-c7');
      const res = await r.app.inject({ method: 'POST', url: '/v1/gateways/gw-c7/configs', headers: { authorization: `Bearer ${r.tokens.technician}` } });
      expect(res.statusCode, res.body).toBe(201);
      expect(res.json()).toMatchObject({ version: 1, note: null });
    });

    it('previews the composed document without issuing a version', async () => {
      const r = reg();
      await seedGateway(r, 'gw-c6', { devices: 3 });
      const res = await r.call('GET', '/v1/gateways/gw-c6/config/preview', { token: r.tokens.viewer });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ problems: [], document: { gateway: { id: 'gw-c6' } } });
      expect((await r.call('GET', '/v1/gateways/gw-c6/configs', { token: r.tokens.viewer })).json()).toEqual({ versions: [] });
    });
  });
}
