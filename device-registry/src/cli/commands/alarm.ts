import type { EventSeverity } from '@cityedge/contract';
import { int, oneOf, str, UsageError, type CommandSpec } from '../command.js';
import { orDash } from '../output.js';
import { formatTime } from '../time-zones.js';
import { OpsApi, type AlarmRecord } from '../ops-api.js';
import { EXIT } from '../watch.js';

export const SEVERITIES: readonly EventSeverity[] = ['info', 'warning', 'alarm', 'critical'];
const STATES = ['open', 'raised', 'acknowledged', 'cleared', 'closed', 'all'] as const;

function alarmId(v: string): number {
  if (!/^\d{1,15}$/.test(v) || Number(v) < 1) throw new UsageError(`<id>: expected an alarm id (1, 2, ...), got "${v}"`);
  return Number(v);
}

function stateText(a: AlarmRecord): string {
  switch (a.state) {
    case 'raised':
      return 'raised (active, not acknowledged)';
    case 'acknowledged':
      return 'acknowledged (still active until the gateway clears it)';
    case 'cleared':
      return 'cleared (over; waits for an acknowledgement)';
    default:
      return 'closed';
  }
}

export const alarmCommands: CommandSpec[] = [
  {
    group: 'alarm',
    name: 'list',
    args: [],
    synopsis: '[--state <state>] [--site <id>] [--gateway <id>] [--severity <s>] [--limit <n>]',
    summary: 'alarms, newest first: the open ones (raised, acknowledged, cleared) unless --state says otherwise',
    help: [`--state <state>     ${STATES.join(', ')} (default open)`, '--site <id>, --gateway <id>', `--severity <s>      ${SEVERITIES.join(', ')}`, '--limit <n>         at most this many (default 100)'],
    options: { state: { type: 'string' }, site: { type: 'string' }, gateway: { type: 'string' }, severity: { type: 'string' }, limit: { type: 'string' } },
    async run(ctx) {
      const state = oneOf(ctx.flags, 'state', STATES);
      const severity = oneOf(ctx.flags, 'severity', SEVERITIES);
      const site = str(ctx.flags, 'site');
      const gateway = str(ctx.flags, 'gateway');
      const limit = int(ctx.flags, 'limit');
      const { alarms } = await new OpsApi(ctx.client).listAlarms({ ...(state && { state }), ...(severity && { severity }), ...(site && { site }), ...(gateway && { gateway }), ...(limit !== undefined && { limit }) });
      if (ctx.out.json) ctx.out.data(alarms);
      else if (alarms.length === 0) ctx.out.line(`no ${state ?? 'open'} alarms`);
      else {
        const zones = await Promise.all(alarms.map((a) => ctx.zones.forSite(a.siteId)));
        ctx.out.table(
          ['ID', 'GATEWAY', 'KEY', 'STATE', 'SEVERITY', 'LEVEL', 'RAISED', 'ACK BY', 'MESSAGE'],
          alarms.map((a, i) => [String(a.id), a.gatewayId, a.key, a.state, a.severity, orDash(a.level), `${formatTime(a.raisedAt, zones[i])}${a.reraiseCount > 0 ? ` (+${a.reraiseCount})` : ''}`, orDash(a.acknowledgedBy), a.message]),
        );
      }
      return EXIT.ok;
    },
  },
  {
    group: 'alarm',
    name: 'show',
    args: ['id'],
    summary: 'one alarm with its history: raises, clears, acknowledgement',
    options: {},
    async run(ctx) {
      const a = await new OpsApi(ctx.client).getAlarm(alarmId(ctx.args[0]!));
      if (ctx.out.json) {
        ctx.out.data(a);
        return EXIT.ok;
      }
      const zone = await ctx.zones.forSite(a.siteId);
      ctx.out.fields([
        ['alarm', String(a.id)],
        ['gateway', `${a.gatewayId}${a.siteId ? ` (site ${a.siteId})` : ''}`],
        ['key', a.key],
        ['state', stateText(a)],
        ['severity', `${a.severity}${a.level ? `, level ${a.level}` : ''}`],
        ['message', a.message],
        ['raised', `${formatTime(a.raisedAt, zone)}${a.reraiseCount > 0 ? `, raised again ${a.reraiseCount} time(s)` : ''}`],
        ['cleared', formatTime(a.clearedAt, zone)],
        ['acknowledged', a.acknowledgedAt === null ? '-' : `${formatTime(a.acknowledgedAt, zone)} by ${orDash(a.acknowledgedBy)}${a.ackNote ? `: ${a.ackNote}` : ''}`],
      ]);
      ctx.out.line();
      ctx.out.table(
        ['TIME', 'WHAT', 'WHO', 'DETAIL'],
        a.history.map((h) => [formatTime(h.ts, zone), h.action, h.actor, [h.level && `level ${h.level}`, h.severity, h.note ?? h.message].filter(Boolean).join(', ') || '-']),
      );
      return EXIT.ok;
    },
  },
  {
    group: 'alarm',
    name: 'ack',
    args: ['id'],
    synopsis: '[--note <text>]',
    summary: 'acknowledge an alarm: it stays active until the gateway clears it; a cleared one is closed',
    help: ['--note <text>       what is being done about it, for the history and the audit log'],
    options: { note: { type: 'string' } },
    async run(ctx) {
      const a = await new OpsApi(ctx.client).acknowledgeAlarm(alarmId(ctx.args[0]!), str(ctx.flags, 'note'));
      if (ctx.out.json) ctx.out.data(a);
      else ctx.out.line(`alarm ${a.id} (${a.gatewayId} ${a.key}) ${stateText(a)}`);
      return EXIT.ok;
    },
  },
];
