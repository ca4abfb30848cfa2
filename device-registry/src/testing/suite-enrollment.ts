import { describe, expect, it } from 'vitest';
import { verifySignedConfig } from '@cityedge/contract';
import { basicAuth, enroll, errorOf, seedGateway } from './fixtures.js';
import { startTestRegistry, TEST_BROKER_URL, type TestRegistry } from './harness.js';

export function enrollmentSuite(reg: () => TestRegistry): void {
  describe('enrollment', () => {
    it('exchanges a code for an identity whose credentials fetch the signed config over HTTP Basic', async () => {
      const r = reg();
      const { code } = await seedGateway(r, 'gw-north-1');
      const id = await enroll(r, code);
      expect(id.gatewayId).toBe('gw-north-1');
      expect(id.mqtt).toMatchObject({ url: TEST_BROKER_URL, username: 'gw-north-1', topicPrefix: 'edge/v1' });
      expect(id.mqtt.password.length).toBeGreaterThanOrEqual(40);
      expect(id.configPublicKeys).toEqual([r.signingKey.publicKeyPem]);
      expect(id.registryUrl).toMatch(/^http:\/\//);
      expect(r.brokerIdentity.passwords.get('gw-north-1')).toBe(id.mqtt.password);
      expect(await r.services.credentials.verify('gw-north-1', id.mqtt.password)).toBe(true);
      expect(await r.services.credentials.verify('gw-north-1', 'x' + id.mqtt.password)).toBe(false);

      expect((await r.call('POST', '/v1/gateways/gw-north-1/configs', { token: r.tokens.technician, body: {} })).statusCode).toBe(201);
      const fetched = await r.call('GET', '/v1/gateways/gw-north-1/config', { headers: basicAuth('gw-north-1', id.mqtt.password) });
      expect(fetched.statusCode, fetched.body).toBe(200);
      const doc = verifySignedConfig(fetched.json(), { gatewayId: 'gw-north-1', publicKeysPem: id.configPublicKeys, minVersion: 0 });
      expect(doc.version).toBe(1);

      const gw = (await r.call('GET', '/v1/gateways/gw-north-1', { token: r.tokens.viewer })).json() as { enrolled: boolean; hostname: string };
      expect(gw).toMatchObject({ enrolled: true, hostname: 'edge-box-1' });
    });

    it('refuses a reused code with REG_CODE_USED (409), and the first identity keeps working', async () => {
      const r = reg();
      const { code } = await seedGateway(r, 'gw-a');
      const first = await enroll(r, code);
      const again = await r.call('POST', '/v1/enroll', { body: { code } });
      expect(again.statusCode).toBe(409);
      expect(errorOf(again)).toMatchObject({ code: 'REG_CODE_USED', field: 'body.code' });
      expect(await r.services.credentials.verify('gw-a', first.mqtt.password)).toBe(true);
    });

    it('refuses an expired code with REG_CODE_EXPIRED (410)', async () => {
      const r = reg();
      const { code } = await seedGateway(r, 'gw-b');
      r.clock.advance(24 * 3600_000 + 1);
      const res = await r.call('POST', '/v1/enroll', { body: { code } });
      expect(res.statusCode).toBe(410);
      expect(errorOf(res).code).toBe('REG_CODE_EXPIRED');
    });

    it('refuses an unknown code with REG_CODE_INVALID (401), and accepts a known one typed loosely', async () => {
      const r = reg();
      const unknown = await r.call('POST', '/v1/enroll', { body: { code: 'AAAA-BBBB-CCCC-DDDD-EEEE' } });
      expect(unknown.statusCode).toBe(401);
      expect(errorOf(unknown)).toMatchObject({ code: 'REG_CODE_INVALID', field: 'body.code' });
      const { code } = await seedGateway(r, 'gw-c');
      const loose = ` ${code.toLowerCase().replace(/-/g, ' ')} `;
      expect((await r.call('POST', '/v1/enroll', { body: { code: loose } })).statusCode).toBe(200);
    });

    it('a new code replaces the unused one, and re-enrolling rotates the password', async () => {
      const r = reg();
      const { code: first } = await seedGateway(r, 'gw-d');
      const issued = await r.call('POST', '/v1/gateways/gw-d/enrollment-codes', { token: r.tokens.technician, body: { ttlSeconds: 600 } });
      expect(issued.statusCode).toBe(201);
      const { code: second, expiresAt } = issued.json() as { code: string; expiresAt: number };
      expect(expiresAt).toBe(r.clock.now() + 600_000);
      expect(errorOf(await r.call('POST', '/v1/enroll', { body: { code: first } })).code).toBe('REG_CODE_INVALID');
      const a = await enroll(r, second);
      const { code: third } = (await r.call('POST', '/v1/gateways/gw-d/enrollment-codes', { token: r.tokens.technician, body: {} })).json() as { code: string };
      const b = await enroll(r, third);
      expect(b.mqtt.password).not.toBe(a.mqtt.password);
      expect(r.brokerIdentity.provisioned).toEqual(['gw-d']);
      expect(r.brokerIdentity.passwords.get('gw-d')).toBe(b.mqtt.password);
      expect(await r.services.credentials.verify('gw-d', a.mqtt.password)).toBe(false);
      expect(await r.services.credentials.verify('gw-d', b.mqtt.password)).toBe(true);
    });

    it('keeps the code usable when the broker refuses the new credentials (503)', async () => {
      const r = reg();
      const { code } = await seedGateway(r, 'gw-e');
      r.brokerIdentity.failing = true;
      const res = await r.call('POST', '/v1/enroll', { body: { code } });
      expect(res.statusCode).toBe(503);
      expect(errorOf(res).code).toBe('REG_BROKER_UNAVAILABLE');
      expect(r.brokerIdentity.offered).toHaveLength(1);
      expect(r.logs.join('')).not.toContain(r.brokerIdentity.offered[0]);
      r.brokerIdentity.failing = false;
      await enroll(r, code);
    });

    it('rate-limits attempts per source address with 429 and Retry-After', async () => {
      const r = reg();
      const limited = await startTestRegistry(r.store, { enrollRateLimit: { max: 3, windowMs: 60_000 } });
      try {
        for (let i = 0; i < 3; i++) expect((await limited.call('POST', '/v1/enroll', { body: { code: `WRONG-${i}` }, remoteAddress: '10.0.0.7' })).statusCode).toBe(401);
        const blocked = await limited.call('POST', '/v1/enroll', { body: { code: 'WRONG-4' }, remoteAddress: '10.0.0.7' });
        expect(blocked.statusCode).toBe(429);
        expect(errorOf(blocked).code).toBe('REG_RATE_LIMITED');
        expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
        // malformed bodies count too, and other addresses are not affected
        expect((await limited.call('POST', '/v1/enroll', { body: '{', headers: { 'content-type': 'application/json' }, remoteAddress: '10.0.0.7' })).statusCode).toBe(429);
        expect((await limited.call('POST', '/v1/enroll', { body: { code: 'WRONG-5' }, remoteAddress: '10.0.0.8' })).statusCode).toBe(401);
        limited.clock.advance(60_000);
        expect((await limited.call('POST', '/v1/enroll', { body: { code: 'WRONG-6' }, remoteAddress: '10.0.0.7' })).statusCode).toBe(401);
      } finally {
        await limited.close();
      }
    });

    it('HTTP Basic: a wrong password is 401, another gateway is 403, and no credentials is 401', async () => {
      const r = reg();
      const a = await enroll(r, (await seedGateway(r, 'gw-f')).code);
      const b = await enroll(r, (await seedGateway(r, 'gw-g')).code);
      await r.call('POST', '/v1/gateways/gw-f/configs', { token: r.tokens.technician, body: {} });
      const wrong = await r.call('GET', '/v1/gateways/gw-f/config', { headers: basicAuth('gw-f', b.mqtt.password) });
      expect(wrong.statusCode).toBe(401);
      expect(wrong.headers['www-authenticate']).toMatch(/^Basic/);
      const other = await r.call('GET', '/v1/gateways/gw-f/config', { headers: basicAuth('gw-g', b.mqtt.password) });
      expect(other.statusCode).toBe(403);
      expect(errorOf(other).code).toBe('REG_FORBIDDEN');
      expect((await r.call('GET', '/v1/gateways/gw-f/config')).statusCode).toBe(401);
      expect((await r.call('GET', '/v1/gateways/gw-f/config', { headers: basicAuth('gw-f', a.mqtt.password) })).statusCode).toBe(200);
    });

    it('caps failed gateway logins per address with 429', async () => {
      const r = reg();
      const a = await enroll(r, (await seedGateway(r, 'gw-h')).code);
      await r.call('POST', '/v1/gateways/gw-h/configs', { token: r.tokens.technician, body: {} });
      const statuses: number[] = [];
      for (let i = 0; i < 31; i++) statuses.push((await r.call('GET', '/v1/gateways/gw-h/config', { headers: basicAuth('gw-h', `guess-${i}`), remoteAddress: '10.9.9.9' })).statusCode);
      expect(statuses.slice(0, 30).every((s) => s === 401)).toBe(true);
      expect(statuses[30]).toBe(429);
      expect((await r.call('GET', '/v1/gateways/gw-h/config', { headers: basicAuth('gw-h', a.mqtt.password), remoteAddress: '10.9.9.10' })).statusCode).toBe(200);
      r.clock.advance(60_000);
      expect((await r.call('GET', '/v1/gateways/gw-h/config', { headers: basicAuth('gw-h', a.mqtt.password), remoteAddress: '10.9.9.9' })).statusCode).toBe(200);
    });
  });
}
