import { describe, expect, it } from 'vitest';
import { verifyCommand, type CommandResult, type StatusMessage } from '@cityedge/contract';
import { redeliverOnReconnect } from '../service/command-redelivery.js';
import { enroll, errorOf, seedGateway } from './fixtures.js';
import type { TestRegistry } from './harness.js';
import { ev, ingest } from './suite-events-alarms.js';

interface CommandBody {
  id: string;
  gatewayId: string;
  name: string;
  args: Record<string, unknown>;
  actor: string;
  issuedAt: number;
  expiresAt: number;
  state: string;
  progress: { done: number; total: number; message?: string } | null;
  result: unknown;
  error: { code: string; message: string } | null;
  repeat: boolean;
  publishCount: number;
  gatewayStatus?: string;
  warning?: string | null;
}

const status = (gw: string, state: 'online' | 'offline'): StatusMessage => ({ v: 1, gw, state, ts: 1 });

async function until(pred: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !pred(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(pred()).toBe(true);
}

/** A `command.*` event as the gateway sends it through its outbox. */
export const result = (r: CommandResult, ts = 1) => ev(`command.${r.state}`, { ts, severity: r.state === 'failed' || r.state === 'refused' ? 'warning' : 'info', message: `command ${r.id} ${r.state}`, data: r as unknown as Record<string, unknown> });

export function commandsSuite(reg: () => TestRegistry): void {
  const send = (r: TestRegistry, gw: string, body: unknown, token = r.tokens.technician) => r.call('POST', `/v1/gateways/${gw}/commands`, { token, body });
  const sent = async (r: TestRegistry, gw: string, body: unknown): Promise<CommandBody> => {
    const res = await send(r, gw, body);
    expect(res.statusCode, res.body).toBe(201);
    return res.json() as CommandBody;
  };
  const get = async (r: TestRegistry, id: string): Promise<CommandBody> => {
    const res = await r.call('GET', `/v1/commands/${id}`, { token: r.tokens.viewer });
    expect(res.statusCode, res.body).toBe(200);
    return res.json() as CommandBody;
  };
  /** An enrolled gateway the registry has seen online. */
  const onlineGateway = async (r: TestRegistry, gw: string): Promise<void> => {
    const { code } = await seedGateway(r, gw);
    await enroll(r, code);
    await r.services.fleet.onStatus(gw, status(gw, 'online'));
  };

  describe('commands', () => {
    it('signs a technician\'s command for the gateway (id, actor, expiry), stores, audits and publishes it; bad input is a 400 naming the field, a viewer gets 403', async () => {
      const r = reg();
      await onlineGateway(r, 'gw-k1');
      const viewer = await send(r, 'gw-k1', { name: 'device.read', args: { dev: 'th-1' } }, r.tokens.viewer);
      expect(viewer.statusCode).toBe(403);
      expect(errorOf(viewer).code).toBe('REG_FORBIDDEN');
      const bad: Array<[unknown, string]> = [
        [{ name: 'rm-rf' }, 'body.name'],
        [{ name: 'point.write', args: { dev: 'lamp-1', pt: 'level' } }, 'body.args.value'],
        [{ name: 'point.write', args: { dev: 'lamp-1', pt: 'level', value: 'bright' } }, 'body.args.value'],
        [{ name: 'logs.tail', args: { lines: 5000 } }, 'body.args.lines'],
        [{ name: 'serial.list', args: { verbose: true } }, 'body.args'],
        [{ name: 'serial.list', ttlMs: 10 }, 'body.ttlMs'],
        [{ name: 'serial.list', ttlMs: 7_200_000 }, 'body.ttlMs'],
        [{ name: 'serial.list', extra: 1 }, 'body.extra'],
        [{ args: {} }, 'body.name'],
      ];
      for (const [body, field] of bad) {
        const res = await send(r, 'gw-k1', body);
        expect({ body, status: res.statusCode, code: errorOf(res).code, field: errorOf(res).field }).toEqual({ body, status: 400, code: 'REG_VALIDATION', field });
        expect(errorOf(res).message).toContain(field);
      }
      expect((await send(r, 'gw-nobody', { name: 'serial.list' })).statusCode).toBe(404);
      expect(r.commandPublisher.published).toEqual([]);

      const c = await sent(r, 'gw-k1', { name: 'point.write', args: { dev: 'lamp-1', pt: 'level', value: 40 } });
      expect(c).toMatchObject({ gatewayId: 'gw-k1', name: 'point.write', args: { dev: 'lamp-1', pt: 'level', value: 40, confirm: true }, actor: 'tech-ana', state: 'sent', publishCount: 1, gatewayStatus: 'online', warning: null, progress: null, result: null, error: null, repeat: false });
      expect(c.id).toMatch(/^[A-Za-z0-9_-]{16,64}$/);
      expect(c.expiresAt - c.issuedAt).toBe(60_000);
      const [signed] = r.commandPublisher.to('gw-k1');
      const v = verifyCommand(JSON.parse(JSON.stringify(signed)), { gatewayId: 'gw-k1', publicKeysPem: [r.signingKey.publicKeyPem], now: r.clock.now() });
      expect(v).toMatchObject({ ok: true, command: { id: c.id, actor: 'tech-ana', expiresAt: c.expiresAt, keyId: r.signingKey.keyId }, args: { value: 40 } });
      expect(verifyCommand(signed, { gatewayId: 'gw-k2', publicKeysPem: [r.signingKey.publicKeyPem], now: r.clock.now() })).toMatchObject({ ok: false, problem: 'wrong-gateway' });
      expect(await get(r, c.id)).toMatchObject({ id: c.id, state: 'sent' });
      const audit = (await r.call('GET', `/v1/audit?targetType=command&targetId=${c.id}`, { token: r.tokens.viewer })).json() as { entries: Array<{ action: string; actor: { name: string | null }; details: Record<string, unknown> }> };
      expect(audit.entries).toEqual([expect.objectContaining({ action: 'command.send', actor: expect.objectContaining({ name: 'tech-ana' }), details: expect.objectContaining({ gatewayId: 'gw-k1', name: 'point.write', ttlMs: 60_000 }) })]);
      expect((await r.call('GET', '/v1/commands/nope-nope-nope', { token: r.tokens.viewer })).statusCode).toBe(404);
    });

    it('follows the answers: accepted, progress (the newest kept, with what was found so far), succeeded; a repeat is noted; each answer but progress is audited', async () => {
      const r = reg();
      await onlineGateway(r, 'gw-k2');
      const c = await sent(r, 'gw-k2', { name: 'line.scan', args: { line: 'bus1', from: 1, to: 20 }, ttlMs: 30_000 });
      const base = { id: c.id, name: 'line.scan' };
      await ingest(r, 'gw-k2', 1, result({ ...base, state: 'accepted' }));
      expect(await get(r, c.id)).toMatchObject({ state: 'accepted', progress: null });
      await ingest(r, 'gw-k2', 2, result({ ...base, state: 'progress', progress: { done: 5, total: 20 }, result: { found: [{ unitId: 1, baudRate: 9600 }] } }));
      // progress 10 is stored before progress 8, which was sent earlier: the newer one stays
      await ingest(r, 'gw-k2', 4, result({ ...base, state: 'progress', progress: { done: 10, total: 20, message: 'unit 10' }, result: { found: [{ unitId: 1, baudRate: 9600 }, { unitId: 7, baudRate: 9600 }] } }));
      await ingest(r, 'gw-k2', 3, result({ ...base, state: 'progress', progress: { done: 8, total: 20 } }));
      expect(await get(r, c.id)).toMatchObject({ state: 'progress', progress: { done: 10, total: 20, message: 'unit 10' }, result: { found: [{ unitId: 1 }, { unitId: 7 }] } });
      await ingest(r, 'gw-k2', 5, result({ ...base, state: 'succeeded', progress: { done: 20, total: 20 }, result: { found: [{ unitId: 1 }, { unitId: 7 }], complete: true } }));
      expect(await get(r, c.id)).toMatchObject({ state: 'succeeded', result: { complete: true }, repeat: false });
      // delivered again (redelivery): the gateway answers with the stored result
      await ingest(r, 'gw-k2', 6, result({ ...base, state: 'succeeded', result: { found: [], complete: true }, repeat: true }));
      expect(await get(r, c.id)).toMatchObject({ state: 'succeeded', result: { found: [{ unitId: 1 }, { unitId: 7 }] }, repeat: true });
      const audit = (await r.call('GET', `/v1/audit?targetType=command&targetId=${c.id}`, { token: r.tokens.viewer })).json() as { entries: Array<{ action: string; actor: { id: string }; details: Record<string, unknown> }> };
      expect(audit.entries.map((e) => [e.action, e.actor.id, e.details.state, e.details.repeat])).toEqual([
        ['command.result', 'gateway:gw-k2', 'succeeded', true],
        ['command.result', 'gateway:gw-k2', 'succeeded', false],
        ['command.result', 'gateway:gw-k2', 'accepted', false],
        ['command.send', expect.stringMatching(/^token:/), undefined, undefined],
      ]);
      const list = (await r.call('GET', '/v1/gateways/gw-k2/commands', { token: r.tokens.viewer })).json() as { commands: CommandBody[]; next: string | null };
      expect(list.commands.map((x) => [x.id, x.state])).toEqual([[c.id, 'succeeded']]);
      expect(list.next).toBeNull();
    });

    it('keeps a refusal or failure final, ignores a result naming another gateway\'s command, and lists newest first with paging', async () => {
      const r = reg();
      await onlineGateway(r, 'gw-k3');
      await onlineGateway(r, 'gw-k4');
      const a = await sent(r, 'gw-k3', { name: 'logs.tail' });
      r.clock.advance(1);
      const b = await sent(r, 'gw-k3', { name: 'camera.probe', args: { camera: 'cam-9' } });
      r.clock.advance(1);
      const other = await sent(r, 'gw-k4', { name: 'serial.list' });
      await ingest(r, 'gw-k3', 1, result({ id: a.id, name: 'logs.tail', state: 'refused', error: { code: 'EDGE_CMD_BAD_ARGS', message: 'args.lines: too many' } }));
      await ingest(r, 'gw-k3', 2, result({ id: a.id, name: 'logs.tail', state: 'succeeded', result: { lines: [] } }));
      await ingest(r, 'gw-k3', 3, result({ id: b.id, name: 'camera.probe', state: 'failed', error: { code: 'EDGE_CMD_UNKNOWN_TARGET', message: 'no camera cam-9' } }));
      await ingest(r, 'gw-k3', 4, result({ id: other.id, name: 'serial.list', state: 'succeeded', result: { ports: ['/dev/ttyS0'] } }));
      expect(await get(r, a.id)).toMatchObject({ state: 'refused', error: { code: 'EDGE_CMD_BAD_ARGS' }, result: null });
      expect(await get(r, b.id)).toMatchObject({ state: 'failed', error: { code: 'EDGE_CMD_UNKNOWN_TARGET', message: 'no camera cam-9' } });
      expect(await get(r, other.id)).toMatchObject({ state: 'sent', result: null });
      const page = (await r.call('GET', '/v1/gateways/gw-k3/commands?limit=1', { token: r.tokens.viewer })).json() as { commands: CommandBody[]; next: string };
      expect(page.commands.map((x) => x.id)).toEqual([b.id]);
      const rest = (await r.call('GET', `/v1/gateways/gw-k3/commands?limit=1&before=${page.next}`, { token: r.tokens.viewer })).json() as { commands: CommandBody[] };
      expect(rest.commands.map((x) => x.id)).toEqual([a.id]);
      expect(((await r.call('GET', '/v1/gateways/gw-k3/commands?state=failed', { token: r.tokens.viewer })).json() as { commands: CommandBody[] }).commands.map((x) => x.id)).toEqual([b.id]);
    });

    it('says so when the gateway never connected or is offline, and publishes unanswered commands again when it comes online, until they expire', async () => {
      const r = reg();
      const { code } = await seedGateway(r, 'gw-k5');
      const fleet = redeliverOnReconnect(r.services.fleet, r.services.commands, r.store);
      const c = await sent(r, 'gw-k5', { name: 'serial.list', ttlMs: 120_000 });
      expect(c).toMatchObject({ state: 'sent', gatewayStatus: 'unknown', warning: expect.stringMatching(/gateway "gw-k5" has not enrolled yet; the command is sent when it connects, if before it expires at /) });
      await enroll(r, code);
      r.clock.advance(1);
      const second = await sent(r, 'gw-k5', { name: 'serial.list' });
      expect(second.warning).toMatch(/has never connected/);
      await fleet.onStatus('gw-k5', status('gw-k5', 'online'));
      expect(r.commandPublisher.to('gw-k5').map((s) => s.id)).toEqual([c.id, second.id, c.id, second.id]);
      await fleet.onStatus('gw-k5', status('gw-k5', 'online'));
      expect(r.commandPublisher.to('gw-k5')).toHaveLength(4);
      await ingest(r, 'gw-k5', 1, result({ id: second.id, name: 'serial.list', state: 'accepted' }));
      await fleet.onStatus('gw-k5', status('gw-k5', 'offline'));
      const third = await sent(r, 'gw-k5', { name: 'logs.tail' });
      expect(r.commandPublisher.to('gw-k5').slice(4).map((s) => s.id)).toEqual([third.id]);
      expect(third).toMatchObject({ gatewayStatus: 'offline', warning: expect.stringMatching(/is offline \(last seen .*\); the command is sent again when it comes back online/) });
      r.clock.advance(61_000);
      await fleet.onStatus('gw-k5', status('gw-k5', 'online'));
      // the accepted one is with the gateway, the third has expired: only the first goes again
      expect(r.commandPublisher.to('gw-k5').slice(5).map((s) => s.id)).toEqual([c.id]);
      expect(await get(r, c.id)).toMatchObject({ state: 'sent', publishCount: 3 });
      expect(await get(r, third.id)).toMatchObject({ state: 'expired' });
    });

    it('expires a command without a final answer; a late final answer replaces expired; an accepted scan may run to its deadline', async () => {
      const r = reg();
      await onlineGateway(r, 'gw-k6');
      const c = await sent(r, 'gw-k6', { name: 'device.read', args: { dev: 'th-1' }, ttlMs: 5000 });
      r.clock.advance(5000);
      expect(await get(r, c.id)).toMatchObject({ state: 'expired' });
      const audit = (await r.call('GET', `/v1/audit?targetType=command&targetId=${c.id}&action=command.expire`, { token: r.tokens.viewer })).json() as { entries: Array<{ actor: { id: string }; details: Record<string, unknown> }> };
      expect(audit.entries).toEqual([expect.objectContaining({ actor: expect.objectContaining({ id: 'system' }), details: expect.objectContaining({ after: 'sent' }) })]);
      await ingest(r, 'gw-k6', 1, result({ id: c.id, name: 'device.read', state: 'refused', error: { code: 'EDGE_CMD_EXPIRED', message: 'command expired 12 ms ago; not executed' } }));
      expect(await get(r, c.id)).toMatchObject({ state: 'refused', error: { code: 'EDGE_CMD_EXPIRED' } });

      const scan = await sent(r, 'gw-k6', { name: 'line.scan', args: { line: 'bus1', deadlineMs: 60_000 }, ttlMs: 5000 });
      await ingest(r, 'gw-k6', 2, result({ id: scan.id, name: 'line.scan', state: 'accepted' }));
      r.clock.advance(30_000);
      expect(await r.services.commands.sweep()).toEqual({ expired: 0, published: 0 });
      expect(await get(r, scan.id)).toMatchObject({ state: 'accepted' });
      r.clock.advance(5000 + 60_000 + 300_000);
      expect(await r.services.commands.sweep()).toEqual({ expired: 1, published: 0 });
      expect(await get(r, scan.id)).toMatchObject({ state: 'expired' });
    });

    it('keeps a command the broker did not take pending, says so, and the sweep publishes it', async () => {
      const r = reg();
      await onlineGateway(r, 'gw-k7');
      r.commandPublisher.failing = true;
      const c = await sent(r, 'gw-k7', { name: 'agent.restart' });
      expect(c).toMatchObject({ state: 'pending', publishCount: 0, warning: expect.stringMatching(/the broker did not take the command; it is retried until it expires/) });
      expect(await r.services.commands.sweep()).toEqual({ expired: 0, published: 0 });
      r.commandPublisher.failing = false;
      expect(await r.services.commands.sweep()).toEqual({ expired: 0, published: 1 });
      expect(await get(r, c.id)).toMatchObject({ state: 'sent', publishCount: 1 });
      expect(r.commandPublisher.to('gw-k7').map((s) => s.id)).toEqual([c.id]);

      // A sweep while the broker is still taking a command does not publish it a second time.
      let release = (): void => undefined;
      r.commandPublisher.hold = new Promise((resolve) => (release = resolve));
      const sending = sent(r, 'gw-k7', { name: 'serial.list' });
      await until(() => r.commandPublisher.to('gw-k7').length === 2);
      const stale = await r.store.commands.inStates(['pending'], 'gw-k7');
      expect(stale).toHaveLength(1);
      expect(await r.services.commands.sweep()).toEqual({ expired: 0, published: 0 });
      release();
      r.commandPublisher.hold = undefined;
      const second = await sending;
      expect(second).toMatchObject({ state: 'sent', publishCount: 1 });
      expect(await r.services.commands.redeliver('gw-k7')).toBe(2);
      expect(await get(r, second.id)).toMatchObject({ publishCount: 2 });
    });
  });
}
