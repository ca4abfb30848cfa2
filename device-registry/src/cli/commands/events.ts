import { int, oneOf, str, UsageError, type CommandContext, type CommandSpec } from '../command.js';
import { orDash } from '../output.js';
import { formatTime } from '../time-zones.js';
import { OpsApi } from '../ops-api.js';
import { EXIT } from '../watch.js';
import { SEVERITIES } from './alarm.js';

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `--since 2h` (ago), or a date and time `2025-06-02T10:00:00+07:00`. */
function timeFlag(ctx: CommandContext, name: string): number | undefined {
  const v = str(ctx.flags, name);
  if (v === undefined) return undefined;
  const ago = /^(\d{1,6})([smhd])$/.exec(v);
  if (ago) return ctx.now() - Number(ago[1]) * UNIT_MS[ago[2]!]!;
  const t = Date.parse(v);
  if (!/^\d{4}-\d{2}-\d{2}/.test(v) || Number.isNaN(t)) throw new UsageError(`--${name}: expected a time ago (30m, 2h, 1d) or a date and time (2025-06-02T10:00:00+07:00), got "${v}"`);
  return t;
}

export const eventCommands: CommandSpec[] = [
  {
    group: 'events',
    name: '',
    args: ['gateway'],
    synopsis: '[--type <type>] [--severity <s>] [--since <when>] [--until <when>] [--limit <n>]',
    summary: 'the events a gateway sent, newest first (device.offline, buffer.*, camera.*, config.*, command.*, ...)',
    help: [
      '--type <type>       one type (device.offline) or a family (command.*)',
      `--severity <s>      ${SEVERITIES.join(', ')}`,
      '--since, --until    a time ago (30m, 2h, 1d) or a date and time; gateway time',
      '--limit <n>         at most this many (default 100)',
    ],
    options: { type: { type: 'string' }, severity: { type: 'string' }, since: { type: 'string' }, until: { type: 'string' }, limit: { type: 'string' } },
    async run(ctx) {
      const gw = ctx.args[0]!;
      const type = str(ctx.flags, 'type');
      const severity = oneOf(ctx.flags, 'severity', SEVERITIES);
      const since = timeFlag(ctx, 'since');
      const until = timeFlag(ctx, 'until');
      const limit = int(ctx.flags, 'limit');
      const { events } = await new OpsApi(ctx.client).listEvents(gw, { ...(type && { type }), ...(severity && { severity }), ...(since !== undefined && { since }), ...(until !== undefined && { until }), ...(limit !== undefined && { limit }) });
      if (ctx.out.json) ctx.out.data(events);
      else if (events.length === 0) ctx.out.line(`no events from ${gw}${type ? ` of type ${type}` : ''}`);
      else {
        const zone = await ctx.zones.forGateway(gw);
        ctx.out.table(['TIME', 'SEQ', 'TYPE', 'SEVERITY', 'DEVICE', 'MESSAGE'], events.map((e) => [formatTime(e.ts, zone), String(e.seq), e.type, e.severity, orDash(e.dev), e.message]));
      }
      return EXIT.ok;
    },
  },
];
