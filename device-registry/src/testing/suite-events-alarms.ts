import { describe, expect, it } from 'vitest';
import type { GatewayEvent } from '@cityedge/contract';
import { errorOf, seedGateway } from './fixtures.js';
import type { TestRegistry } from './harness.js';

interface AlarmBody {
  id: number;
  gatewayId: string;
  siteId: string | null;
  key: string;
  state: string;
  severity: string;
  level: string | null;
  message: string;
  raisedAt: number;
  reraiseCount: number;
  clearedAt: number | null;
  acknowledgedAt: number | null;
  acknowledgedBy: string | null;
  ackNote: string | null;
  history?: Array<{ action: string; actor: string; seq: number | null; level: string | null; note: string | null }>;
}

const T0 = 1_763_700_000_000;

export const ev = (type: string, extra: Partial<GatewayEvent> = {}): GatewayEvent => ({ type, ts: T0, severity: 'info', message: type, ...extra });
export const offline = (dev: string, ts = T0): GatewayEvent => ev('device.offline', { dev, ts, severity: 'warning', message: `${dev} stopped answering`, data: { failures: 3, error: 'EDGE_MODBUS_TIMEOUT' } });
export const online = (dev: string, ts = T0): GatewayEvent => ev('device.online', { dev, ts, message: `${dev} answers again` });

/** Hands one events message to the registry as the events ingest does. */
export function ingest(r: TestRegistry, gw: string, seq: number, ...events: GatewayEvent[]): Promise<boolean> {
  return r.services.events.insertEventsBatch(gw, seq, events.map((event, idx) => ({ idx, event })));
}

export function eventsAlarmsSuite(reg: () => TestRegistry): void {
  const alarms = async (r: TestRegistry, query = ''): Promise<AlarmBody[]> => {
    const res = await r.call('GET', `/v1/alarms${query}`, { token: r.tokens.viewer });
    expect(res.statusCode, res.body).toBe(200);
    return (res.json() as { alarms: AlarmBody[] }).alarms;
  };
  const alarm = async (r: TestRegistry, id: number): Promise<AlarmBody> => {
    const res = await r.call('GET', `/v1/alarms/${id}`, { token: r.tokens.viewer });
    expect(res.statusCode, res.body).toBe(200);
    return res.json() as AlarmBody;
  };
  const ack = (r: TestRegistry, id: number, token: string, note?: string) => r.call('POST', `/v1/alarms/${id}/ack`, { token, ...(note !== undefined && { body: { note } }) });

  describe('events at central', () => {
    it('stores each events message once per (gateway, seq), device.offline and buffer.corrupt included, and lists them newest first by type, severity and time with paging', async () => {
      const r = reg();
      await seedGateway(r, 'gw-e1', { site: 'dongha' });
      const corrupt = ev('buffer.corrupt', { ts: T0 + 1, severity: 'critical', message: 'outbox failed its integrity check; set aside', data: { file: 'outbox.db.corrupt-1' } });
      expect(await ingest(r, 'gw-e1', 3, offline('th-1'), corrupt)).toBe(true);
      expect(await ingest(r, 'gw-e1', 3, offline('th-1'), corrupt)).toBe(false);
      expect(await ingest(r, 'gw-e1', 8, ev('agent.started', { ts: T0 + 5000 }), ev('config.committed', { ts: T0 + 6000, data: { version: 2 } }))).toBe(true);
      const list = async (q = '') => {
        const res = await r.call('GET', `/v1/gateways/gw-e1/events${q}`, { token: r.tokens.viewer });
        expect(res.statusCode, res.body).toBe(200);
        return res.json() as { events: Array<{ seq: number; idx: number; type: string; ts: number; severity: string; dev: string | null; data: unknown; message: string }>; next: string | null };
      };
      const all = await list();
      expect(all.events.map((e) => [e.seq, e.idx, e.type])).toEqual([
        [8, 1, 'config.committed'],
        [8, 0, 'agent.started'],
        [3, 1, 'buffer.corrupt'],
        [3, 0, 'device.offline'],
      ]);
      expect(all.events[3]).toMatchObject({ gatewayId: 'gw-e1', ts: T0, severity: 'warning', dev: 'th-1', message: 'th-1 stopped answering', data: { failures: 3, error: 'EDGE_MODBUS_TIMEOUT' }, alarm: null });
      expect(all.next).toBeNull();
      expect((await list('?type=device.offline')).events.map((e) => e.type)).toEqual(['device.offline']);
      expect((await list('?type=buffer.*')).events.map((e) => e.type)).toEqual(['buffer.corrupt']);
      expect((await list('?severity=critical')).events.map((e) => e.type)).toEqual(['buffer.corrupt']);
      expect((await list(`?since=${T0 + 1}&until=${T0 + 6000}`)).events.map((e) => e.type)).toEqual(['agent.started', 'buffer.corrupt']);
      const page1 = await list('?limit=3');
      expect(page1.events).toHaveLength(3);
      expect(page1.next).toBe('3.1');
      expect((await list(`?limit=3&before=${page1.next}`)).events.map((e) => e.type)).toEqual(['device.offline']);

      const bad = await r.call('GET', '/v1/gateways/gw-e1/events?before=yesterday', { token: r.tokens.viewer });
      expect(bad.statusCode).toBe(400);
      expect(errorOf(bad)).toMatchObject({ code: 'REG_VALIDATION', field: 'querystring.before' });
      expect(errorOf(await r.call('GET', '/v1/gateways/gw-e1/events?type=%25', { token: r.tokens.viewer }))).toMatchObject({ code: 'REG_VALIDATION', field: 'querystring.type' });
      expect((await r.call('GET', '/v1/gateways/gw-nobody/events', { token: r.tokens.viewer })).statusCode).toBe(404);
      expect((await r.call('GET', '/v1/gateways/gw-e1/events')).statusCode).toBe(401);
    });
  });

  describe('alarms at central', () => {
    it('raises an alarm for device.offline exactly once, also when the message is delivered again; an acknowledged alarm stays active until the gateway clears it', async () => {
      const r = reg();
      await seedGateway(r, 'gw-a1', { site: 'dongha' });
      await ingest(r, 'gw-a1', 1, offline('th-1'));
      await ingest(r, 'gw-a1', 1, offline('th-1'));
      const [a] = await alarms(r);
      expect(await alarms(r)).toHaveLength(1);
      expect(a).toMatchObject({ gatewayId: 'gw-a1', siteId: 'dongha', key: 'device.offline/th-1', state: 'raised', severity: 'warning', message: 'th-1 stopped answering', raisedAt: T0, reraiseCount: 0, clearedAt: null, acknowledgedAt: null });

      const denied = await ack(r, a!.id, r.tokens.viewer);
      expect(denied.statusCode).toBe(403);
      expect(errorOf(denied).code).toBe('REG_FORBIDDEN');
      const acked = await ack(r, a!.id, r.tokens.technician, 'crew sent to the pump house');
      expect(acked.statusCode, acked.body).toBe(200);
      expect(acked.json()).toMatchObject({ state: 'acknowledged', acknowledgedBy: 'tech-ana', ackNote: 'crew sent to the pump house', clearedAt: null });
      const again = await ack(r, a!.id, r.tokens.admin);
      expect(again.statusCode).toBe(409);
      expect(errorOf(again)).toMatchObject({ code: 'REG_CONFLICT', message: expect.stringMatching(/already acknowledged by tech-ana/) });
      expect((await alarms(r)).map((x) => x.state)).toEqual(['acknowledged']);

      await ingest(r, 'gw-a1', 2, online('th-1', T0 + 60_000));
      expect(await alarms(r)).toEqual([]);
      const closed = await alarm(r, a!.id);
      expect(closed).toMatchObject({ state: 'closed', clearedAt: T0 + 60_000, acknowledgedBy: 'tech-ana' });
      expect(closed.history!.map((h) => [h.action, h.actor])).toEqual([
        ['raised', 'gateway:gw-a1'],
        ['acknowledged', 'tech-ana'],
        ['cleared', 'gateway:gw-a1'],
      ]);
      expect((await alarms(r, '?state=closed')).map((x) => x.id)).toEqual([a!.id]);
      const audit = (await r.call('GET', `/v1/audit?targetType=alarm&targetId=${a!.id}`, { token: r.tokens.viewer })).json() as { entries: Array<{ action: string; actor: { name: string | null }; details: unknown }> };
      expect(audit.entries).toEqual([expect.objectContaining({ action: 'alarm.acknowledge', actor: expect.objectContaining({ name: 'tech-ana' }), details: expect.objectContaining({ gatewayId: 'gw-a1', key: 'device.offline/th-1', note: 'crew sent to the pump house' }) })]);
      expect((await ack(r, 999_999, r.tokens.technician)).statusCode).toBe(404);
    });

    it('keeps a cleared alarm visible until acknowledged, counts re-raises, resets the acknowledgement on escalation, and opens a new occurrence after a clear', async () => {
      const r = reg();
      await seedGateway(r, 'gw-a2', { site: 'dongha' });
      const flood = (seq: number, state: 'raised' | 'cleared', level?: string, severity: GatewayEvent['severity'] = 'alarm') =>
        ingest(r, 'gw-a2', seq, ev('flood.level', { ts: T0 + seq, severity, message: `river ${state} ${level ?? ''}`, alarm: { key: 'flood.level/dongha', state, ...(level && { level }) } }));
      await flood(10, 'raised', 'BD_I');
      await flood(11, 'raised', 'BD_I');
      let [a] = await alarms(r);
      expect(a).toMatchObject({ key: 'flood.level/dongha', level: 'BD_I', severity: 'alarm', reraiseCount: 1, state: 'raised' });
      expect((await ack(r, a!.id, r.tokens.technician)).statusCode).toBe(200);
      await flood(12, 'raised', 'BD_II', 'critical');
      [a] = await alarms(r);
      expect(a).toMatchObject({ level: 'BD_II', severity: 'critical', reraiseCount: 2, state: 'raised', acknowledgedAt: null });
      await flood(13, 'cleared');
      [a] = await alarms(r);
      expect(a).toMatchObject({ state: 'cleared', clearedAt: T0 + 13 });
      await flood(14, 'raised', 'BD_I');
      const both = await alarms(r);
      expect(both.map((x) => [x.state, x.level])).toEqual([
        ['raised', 'BD_I'],
        ['cleared', 'BD_II'],
      ]);
      expect((await alarm(r, a!.id)).history!.map((h) => [h.action, h.level, h.note])).toEqual([
        ['raised', 'BD_I', null],
        ['re-raised', 'BD_I', null],
        ['acknowledged', null, null],
        ['re-raised', 'BD_II', 'escalated: acknowledgement reset'],
        ['cleared', null, null],
      ]);
      // A condition already over when reported (a corrupt buffer set aside) waits only for an acknowledgement.
      await ingest(r, 'gw-a2', 15, ev('buffer.corrupt', { ts: T0 + 15, severity: 'critical', message: 'outbox set aside' }));
      const corrupt = (await alarms(r)).find((x) => x.key === 'buffer.corrupt');
      expect(corrupt).toMatchObject({ state: 'cleared', severity: 'critical', clearedAt: T0 + 15 });
      expect((await ack(r, corrupt!.id, r.tokens.admin)).json()).toMatchObject({ state: 'closed', acknowledgedBy: 'admin-ines' });
    });

    it('never leaves an alarm active after its clear when events arrive out of order (several ingest consumers)', async () => {
      const r = reg();
      await seedGateway(r, 'gw-a3');
      // the online event (seq 21) is stored before the offline event (seq 20) it follows
      await ingest(r, 'gw-a3', 21, online('th-1', T0 + 21));
      await ingest(r, 'gw-a3', 20, offline('th-1', T0 + 20));
      expect((await alarms(r, '?gateway=gw-a3')).map((a) => [a.key, a.state, a.raisedAt, a.clearedAt])).toEqual([['device.offline/th-1', 'cleared', T0 + 20, T0 + 21]]);
      // raise 30, clear 32, then the re-raise 31 that happened in between
      await ingest(r, 'gw-a3', 30, offline('th-2', T0 + 30));
      await ingest(r, 'gw-a3', 32, online('th-2', T0 + 32));
      await ingest(r, 'gw-a3', 31, offline('th-2', T0 + 31));
      const th2 = (await alarms(r, '?gateway=gw-a3&state=all')).filter((a) => a.key === 'device.offline/th-2');
      expect(th2.map((a) => [a.state, a.reraiseCount, a.clearedAt])).toEqual([['cleared', 1, T0 + 32]]);
      // raise 40, clear 41, raise 42: the old clear arriving last does not end the newer raise
      await ingest(r, 'gw-a3', 40, offline('th-3', T0 + 40));
      await ingest(r, 'gw-a3', 42, offline('th-3', T0 + 42));
      await ingest(r, 'gw-a3', 41, online('th-3', T0 + 41));
      expect((await alarms(r, '?gateway=gw-a3')).filter((a) => a.key === 'device.offline/th-3').map((a) => a.state)).toEqual(['raised']);
    });

    it('filters alarms by site, gateway, state and severity, and pages', async () => {
      const r = reg();
      await seedGateway(r, 'gw-f1', { site: 'north' });
      await seedGateway(r, 'gw-f2', { site: 'south' });
      await ingest(r, 'gw-f1', 1, offline('th-1'), offline('th-2'));
      await ingest(r, 'gw-f2', 1, offline('th-1'), ev('camera.unreachable', { dev: 'cam-1', severity: 'alarm', message: 'camera unreachable' }));
      expect((await alarms(r, '?site=north')).map((a) => a.gatewayId)).toEqual(['gw-f1', 'gw-f1']);
      expect((await alarms(r, '?gateway=gw-f2')).map((a) => a.key)).toEqual(['camera.fault/cam-1', 'device.offline/th-1']);
      expect((await alarms(r, '?severity=alarm')).map((a) => [a.key, a.level])).toEqual([['camera.fault/cam-1', 'unreachable']]);
      expect(await alarms(r, '?state=acknowledged')).toEqual([]);
      const page = (await r.call('GET', '/v1/alarms?limit=3', { token: r.tokens.viewer })).json() as { alarms: AlarmBody[]; next: string | null };
      expect(page.alarms).toHaveLength(3);
      const rest = (await r.call('GET', `/v1/alarms?limit=3&before=${page.next}`, { token: r.tokens.viewer })).json() as { alarms: AlarmBody[]; next: string | null };
      expect([...page.alarms, ...rest.alarms].map((a) => a.id)).toEqual([...new Set([...page.alarms, ...rest.alarms].map((a) => a.id))]);
      expect(rest.alarms).toHaveLength(1);
      const bad = await r.call('GET', '/v1/alarms?state=burning', { token: r.tokens.viewer });
      expect(errorOf(bad)).toMatchObject({ code: 'REG_VALIDATION', field: 'querystring.state' });
    });
  });
}
