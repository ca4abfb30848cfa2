import { describe, expect, it } from 'vitest';
import { ALARM_ACKNOWLEDGED, builtinProfiles, createCatalog, resolveGatewayConfig, verifySignedConfig, type GatewayEvent } from '@cityedge/contract';
import { errorOf, seedGateway } from './fixtures.js';
import { ev, ingest } from './suite-events-alarms.js';
import type { TestRegistry } from './harness.js';

/** Dong Ha (Hieu river): BD I / II / III 2.00 / 3.00 / 4.00 m (domain.md), a siren on a Firmata board and a relay. */
export const DONG_HA_RULES = {
  flood: [
    {
      id: 'dongha',
      name: 'Dong Ha (Hieu river)',
      sensor: { dev: 'river-radar', pt: 'distance' },
      kind: 'radar',
      sensorHeight: 8,
      levels: { bd1: 2.0, bd2: 3.0, bd3: 4.0, ref: '05/2020/QD-TTg' },
      outputs: { bd1: [{ dev: 'warning-post', pt: 'siren', pattern: 'pulse:400/400' }], bd3: [{ dev: 'relays', pt: 'relay1' }] },
    },
  ],
};

/** A gateway with a Modbus TCP line (a radar and a relay board) and a Firmata board line with a siren pin. */
async function seedFloodGateway(r: TestRegistry, id: string): Promise<void> {
  const token = r.tokens.technician;
  expect((await r.call('POST', '/v1/gateways', { token, body: { id } })).statusCode).toBe(201);
  expect((await r.call('PUT', `/v1/gateways/${id}/lines/bus`, { token, body: { type: 'tcp', host: '127.0.0.1', port: 5020 } })).statusCode).toBe(201);
  for (const d of [{ id: 'river-radar', profile: 'geolux-lx80', unitId: 1 }, { id: 'relays', profile: 'relay-io-8', unitId: 2 }]) {
    const res = await r.call('POST', `/v1/gateways/${id}/devices`, { token, body: { ...d, lineId: 'bus' } });
    expect(res.statusCode, res.body).toBe(201);
  }
  const board = await r.call('PUT', `/v1/gateways/${id}/lines/board`, {
    token,
    body: { type: 'firmata', path: '/dev/ttyACM0', devices: [{ id: 'warning-post', points: [{ name: 'siren', pin: 'D7', mode: 'digital-out' }, { name: 'float_switch', pin: 'D2', mode: 'digital-in', pullUp: true }] }] },
  });
  expect(board.statusCode, board.body).toBe(201);
}

export function rulesSuite(reg: () => TestRegistry): void {
  describe('gateway rules and firmata lines', () => {
    it('composes the rules and a firmata board into the signed configuration; clearing them and rolling back go over the air like the rest', async () => {
      const r = reg();
      const t = r.tokens.technician;
      await seedFloodGateway(r, 'gw-r1');
      const lines = (await r.call('GET', '/v1/gateways/gw-r1/lines', { token: r.tokens.viewer })).json() as { lines: Array<Record<string, unknown>> };
      expect(lines.lines.find((l) => l.id === 'board')).toMatchObject({ type: 'firmata', path: '/dev/ttyACM0', devices: [{ id: 'warning-post', points: [{ name: 'siren', pin: 'D7' }, { name: 'float_switch' }] }] });

      expect(errorOf(await r.call('GET', '/v1/gateways/gw-r1/rules', { token: r.tokens.viewer })).code).toBe('REG_NOT_FOUND');
      const put = await r.call('PUT', '/v1/gateways/gw-r1/rules', { token: t, body: DONG_HA_RULES });
      expect(put.statusCode, put.body).toBe(201);
      expect(put.json()).toMatchObject({ gatewayId: 'gw-r1', rules: DONG_HA_RULES, updatedBy: 'tech-ana' });
      expect((await r.call('GET', '/v1/gateways/gw-r1/rules', { token: r.tokens.viewer })).json()).toMatchObject({ rules: DONG_HA_RULES });

      const v1 = await r.call('POST', '/v1/gateways/gw-r1/configs', { token: t, body: { note: 'flood warning' } });
      expect(v1.statusCode, v1.body).toBe(201);
      const verify = (i: number) => verifySignedConfig(r.publisher.to('gw-r1')[i], { gatewayId: 'gw-r1', publicKeysPem: [r.signingKey.publicKeyPem], minVersion: 0 }).config;
      const doc1 = verify(0);
      const resolved = resolveGatewayConfig(doc1, createCatalog(builtinProfiles));
      expect(resolved.ok, JSON.stringify(!resolved.ok && resolved.problems)).toBe(true);
      if (!resolved.ok) return;
      expect(resolved.value.config.rules?.flood[0]).toMatchObject({ id: 'dongha', levels: { bd1: 2, bd2: 3, bd3: 4 }, hysteresis: 0.05 });
      expect(resolved.value.firmataLines.map((l) => [l.config.id, l.devices.map((d) => d.id)])).toEqual([['board', ['warning-post']]]);

      // replaced: the next version carries the new levels (they are versioned with the configuration)
      const higher = { flood: [{ ...DONG_HA_RULES.flood[0]!, levels: { bd1: 2.2, bd2: 3.2, bd3: 4.2 } }] };
      expect((await r.call('PUT', '/v1/gateways/gw-r1/rules', { token: t, body: higher })).statusCode).toBe(200);
      expect((await r.call('POST', '/v1/gateways/gw-r1/configs', { token: t, body: {} })).statusCode).toBe(201);
      expect((verify(1).rules as typeof higher).flood[0]!.levels.bd1).toBe(2.2);

      // cleared: the next version has none; a rollback to v1 brings v1's rules back as v4
      expect((await r.call('DELETE', '/v1/gateways/gw-r1/rules', { token: t })).statusCode).toBe(204);
      expect(errorOf(await r.call('DELETE', '/v1/gateways/gw-r1/rules', { token: t })).code).toBe('REG_NOT_FOUND');
      expect((await r.call('POST', '/v1/gateways/gw-r1/configs', { token: t, body: {} })).statusCode).toBe(201);
      expect(verify(2).rules).toBeUndefined();
      const rb = await r.call('POST', '/v1/gateways/gw-r1/configs/1/rollback', { token: t, body: {} });
      expect(rb.json()).toMatchObject({ version: 4, basedOn: 1 });
      expect(verify(3).rules).toEqual(DONG_HA_RULES);

      const audit = (await r.call('GET', '/v1/audit?targetType=gateway&targetId=gw-r1', { token: r.tokens.admin })).json() as { entries: Array<{ action: string }> };
      expect(audit.entries.map((e) => e.action)).toEqual(expect.arrayContaining(['rules.create', 'rules.update', 'rules.delete']));
    });

    it('refuses bad rules with every problem and its path (4xx), and keeps the record as it was', async () => {
      const r = reg();
      const t = r.tokens.technician;
      await seedFloodGateway(r, 'gw-r2');
      const flood = DONG_HA_RULES.flood[0]!;
      // schema: levels out of order, an unknown key, a bad pattern
      const schema = await r.call('PUT', '/v1/gateways/gw-r2/rules', { token: t, body: { flood: [{ ...flood, levels: { bd1: 3, bd2: 2, bd3: 4 }, colour: 'red', outputs: { bd1: [{ dev: 'warning-post', pt: 'siren', pattern: 'loud' }] } }] } });
      expect(schema.statusCode).toBe(400);
      expect(errorOf(schema).code).toBe('REG_VALIDATION');
      expect(errorOf(schema).problems!.map((p) => p.path).sort()).toEqual(['body.flood[0]', 'body.flood[0].levels', 'body.flood[0].outputs.bd1[0].pattern']);
      // references: a device the gateway does not have, a point its profile does not have, an output that cannot be written
      const refs = await r.call('PUT', '/v1/gateways/gw-r2/rules', {
        token: t,
        body: { flood: [{ ...flood, sensor: { dev: 'river-radar', pt: 'stage' }, outputs: { bd1: [{ dev: 'no-such-post', pt: 'siren' }], bd2: [{ dev: 'warning-post', pt: 'float_switch' }] } }] },
      });
      expect(refs.statusCode).toBe(400);
      const e = errorOf(refs);
      expect(e.code).toBe('REG_VALIDATION');
      expect(e.problems!.map((p) => p.path).sort()).toEqual(['body.flood[0].outputs.bd1[0].dev', 'body.flood[0].outputs.bd2[0].pt', 'body.flood[0].sensor.pt']);
      expect(e.message).toMatch(/no enabled device "no-such-post"/);
      expect(e.message).toMatch(/not writable/);
      expect(errorOf(await r.call('GET', '/v1/gateways/gw-r2/rules', { token: t })).code).toBe('REG_NOT_FOUND');
      // roles and unknown gateways
      expect((await r.call('PUT', '/v1/gateways/gw-r2/rules', { token: r.tokens.viewer, body: DONG_HA_RULES })).statusCode).toBe(403);
      expect(errorOf(await r.call('PUT', '/v1/gateways/gw-nope/rules', { token: t, body: DONG_HA_RULES })).code).toBe('REG_NOT_FOUND');
      expect((await r.call('PUT', '/v1/gateways/gw-r2/rules', { token: t, body: [1] })).statusCode).toBe(400);
    });

    it('keeps device and line records and rules consistent: no change that breaks a rule, no device records on a board', async () => {
      const r = reg();
      const t = r.tokens.technician;
      await seedFloodGateway(r, 'gw-r3');
      expect((await r.call('PUT', '/v1/gateways/gw-r3/rules', { token: t, body: DONG_HA_RULES })).statusCode).toBe(201);
      // the radar replaced by a sensor without a distance point: the rule naming it is the problem
      const swap = await r.call('PUT', '/v1/gateways/gw-r3/devices/river-radar', { token: t, body: { lineId: 'bus', profile: 'sht20', unitId: 1 } });
      expect(swap.statusCode).toBe(400);
      expect(errorOf(swap).problems!.map((p) => p.path)).toEqual(['config.rules.flood[0].sensor.pt']);
      // the siren pin turned into an input: the output naming it is the problem
      const board = await r.call('PUT', '/v1/gateways/gw-r3/lines/board', { token: t, body: { type: 'firmata', path: '/dev/ttyACM0', devices: [{ id: 'warning-post', points: [{ name: 'siren', pin: 'D7', mode: 'digital-in' }] }] } });
      expect(board.statusCode).toBe(400);
      expect(errorOf(board).problems!.map((p) => p.path)).toEqual(['config.rules.flood[0].outputs.bd1[0].pt']);
      // a board line's own problems are named in the body
      const pins = await r.call('PUT', '/v1/gateways/gw-r3/lines/board2', { token: t, body: { type: 'firmata', host: 'board.local', devices: [{ id: 'rain', points: [{ name: 'tips', pin: 'D2', mode: 'pulse-counter' }, { name: 'door', pin: 'D2', mode: 'digital-in' }] }] } });
      expect(pins.statusCode).toBe(400);
      expect(errorOf(pins).field).toBe('body.devices[0].points[1].pin');
      // device records belong to Modbus lines
      const rec = await r.call('POST', '/v1/gateways/gw-r3/devices', { token: t, body: { id: 'x1', lineId: 'board', profile: 'sht20', unitId: 3 } });
      expect(rec.statusCode).toBe(400);
      expect(errorOf(rec)).toMatchObject({ code: 'REG_VALIDATION', field: 'body.lineId', message: expect.stringMatching(/firmata board/) });
      const toBoard = await r.call('PUT', '/v1/gateways/gw-r3/lines/bus', { token: t, body: { type: 'firmata', path: '/dev/ttyACM1' } });
      expect(toBoard.statusCode).toBe(409);
      // a gateway with rules can still be deleted
      expect((await r.call('DELETE', '/v1/gateways/gw-r3', { token: r.tokens.admin })).statusCode).toBe(204);
    });

    it('rule alarms reach the alarm life cycle with their level or category; an acknowledgement at the gateway acknowledges at central', async () => {
      const r = reg();
      await seedGateway(r, 'gw-r4', { site: 'dongha' });
      const T = 1_780_000_000_000;
      // events as the gateway's rules send them (AlarmLatch: the event type is the key's first part)
      const raise = (key: string, ts: number, level: string, severity: GatewayEvent['severity'], message: string, dev?: string): GatewayEvent =>
        ev(key.split('/')[0]!, { ts, severity, message, ...(dev && { dev }), alarm: { key, state: 'raised', level } });
      const clear = (key: string, ts: number, level: string, message: string): GatewayEvent => ev(key.split('/')[0]!, { ts, message, alarm: { key, state: 'cleared', level } });
      const siteAck = (key: string, ts: number, actor: string): GatewayEvent => ev(ALARM_ACKNOWLEDGED, { ts, message: `${key} acknowledged by ${actor}`, data: { key, actor, silenced: 1 } });
      await ingest(r, 'gw-r4', 1, raise('flood.level/dongha', T + 1, 'BD_I', 'alarm', 'Dong Ha: stage 2.30 m, flood alarm BD I (rising)'));
      await ingest(r, 'gw-r4', 2, raise('flood.level/dongha', T + 2, 'BD_II', 'alarm', 'Dong Ha: stage 3.30 m, flood alarm BD II (rising)'), raise('aqi.category/dongha-air', T + 2, 'kem', 'alarm', 'dongha-air: VN_AQI 110 (Kem)'));
      await ingest(r, 'gw-r4', 3, siteAck('flood.level/dongha', T + 3, 'tech-binh'), raise('lamp.fault/lamp-01', T + 3, 'lamp_failure', 'warning', 'lamp lamp-01 (le-duan): lamp failure', 'lamp-01'));
      await ingest(r, 'gw-r4', 4, raise('flood.level/dongha', T + 4, 'BD_III', 'critical', 'Dong Ha: stage 4.40 m, flood alarm BD III (rising)'), raise('sensor.fault/river-radar', T + 4, 'frozen', 'warning', 'sensor river-radar.distance of station dongha failed: frozen', 'river-radar'));
      await ingest(r, 'gw-r4', 5, siteAck('flood.level/dongha', T + 5, 'tech-binh'), siteAck('aqi.category/nowhere', T + 5, 'tech-binh'));
      await ingest(r, 'gw-r4', 6, clear('flood.level/dongha', T + 6, 'BD_III', 'Dong Ha: stage 1.00 m, below flood alarm levels'));

      const list = (await r.call('GET', '/v1/alarms?gateway=gw-r4&state=all', { token: r.tokens.viewer })).json() as { alarms: Array<{ id: number; key: string; level: string | null; severity: string; state: string; acknowledgedBy: string | null }> };
      const byKey = Object.fromEntries(list.alarms.map((a) => [a.key, a]));
      expect(Object.keys(byKey).sort()).toEqual(['aqi.category/dongha-air', 'flood.level/dongha', 'lamp.fault/lamp-01', 'sensor.fault/river-radar']);
      expect(byKey['aqi.category/dongha-air']).toMatchObject({ level: 'kem', state: 'raised' });
      expect(byKey['lamp.fault/lamp-01']).toMatchObject({ level: 'lamp_failure', severity: 'warning', state: 'raised' });
      expect(byKey['sensor.fault/river-radar']).toMatchObject({ level: 'frozen', state: 'raised' });
      // BD III reset the first acknowledgement (an escalation must be seen); the second one at the site closes it with the clear
      expect(byKey['flood.level/dongha']).toMatchObject({ level: 'BD_III', severity: 'critical', state: 'closed', acknowledgedBy: 'tech-binh at gw-r4' });
      const flood = (await r.call('GET', `/v1/alarms/${byKey['flood.level/dongha']!.id}`, { token: r.tokens.viewer })).json() as { history: Array<{ action: string; level: string | null; actor: string; note: string | null }> };
      expect(flood.history.map((h) => [h.action, h.level])).toEqual([
        ['raised', 'BD_I'],
        ['re-raised', 'BD_II'],
        ['acknowledged', null],
        ['re-raised', 'BD_III'],
        ['acknowledged', null],
        ['cleared', 'BD_III'],
      ]);
      expect(flood.history.filter((h) => h.action === 'acknowledged').map((h) => [h.actor, h.note])).toEqual([
        ['tech-binh at gw-r4', 'acknowledged at the gateway'],
        ['tech-binh at gw-r4', 'acknowledged at the gateway'],
      ]);
      // the same acknowledgement delivered again changes nothing
      await ingest(r, 'gw-r4', 5, siteAck('flood.level/dongha', T + 5, 'tech-binh'));
      const again = (await r.call('GET', `/v1/alarms/${byKey['flood.level/dongha']!.id}`, { token: r.tokens.viewer })).json() as { history: unknown[] };
      expect(again.history).toHaveLength(6);
    });
  });
}
