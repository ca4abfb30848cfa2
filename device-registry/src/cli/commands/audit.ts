import { int, str, type CommandSpec } from '../command.js';
import { orDash } from '../output.js';
import type { AuditEntry } from '../registry-client.js';
import { formatTime, type TimeZones } from '../time-zones.js';

/** Targets that belong to a gateway have ids `<gateway>/<thing>`. */
const GATEWAY_SCOPED = new Set(['device', 'line', 'camera', 'discovered-camera']);

/** An entry about a site or a gateway (or one of its things) is shown in that site's zone. */
function zoneOf(zones: TimeZones, e: AuditEntry): Promise<string> {
  const { type, id } = e.target;
  if (id === null) return Promise.resolve(zones.fallback);
  if (type === 'site') return zones.forSite(id);
  if (type === 'gateway') return zones.forGateway(id);
  if (GATEWAY_SCOPED.has(type)) return zones.forGateway(id.split('/')[0]!);
  return Promise.resolve(zones.fallback);
}

export const auditCommands: CommandSpec[] = [
  {
    group: 'audit',
    name: 'list',
    args: [],
    synopsis: '[--target-type <type>] [--target-id <id>] [--action <action>] [--limit <n>] [--before <entry id>]',
    summary: 'who changed what, when (newest first)',
    help: [
      '--target-type <type>   site, gateway, device, line, camera, rollout, token, mqtt, ...',
      '--target-id <id>       e.g. gw-dongha-01, or gw-dongha-01/river-radar for a device',
      '--action <action>      e.g. config.issue, gateway.enroll',
      '--limit <n>            entries (default 50, at most 1000)',
      '--before <entry id>    page back: the ENTRY of the last line shown',
    ],
    options: { 'target-type': { type: 'string' }, 'target-id': { type: 'string' }, action: { type: 'string' }, limit: { type: 'string' }, before: { type: 'string' } },
    async run({ flags, client, out, zones }) {
      const entries = await client.listAudit({
        limit: int(flags, 'limit') ?? 50,
        ...(int(flags, 'before') !== undefined && { before: int(flags, 'before') }),
        ...(str(flags, 'target-type') !== undefined && { targetType: str(flags, 'target-type') }),
        ...(str(flags, 'target-id') !== undefined && { targetId: str(flags, 'target-id') }),
        ...(str(flags, 'action') !== undefined && { action: str(flags, 'action') }),
      });
      if (out.json) out.data(entries);
      else if (entries.length === 0) out.line('no audit entries match');
      else {
        const zone = await Promise.all(entries.map((e) => zoneOf(zones, e)));
        out.table(
          ['ENTRY', 'TIME', 'WHO', 'ACTION', 'TARGET', 'FROM', 'DETAILS'],
          entries.map((e, i) => [
            String(e.id),
            formatTime(e.ts, zone[i]),
            e.actor.name ? `${e.actor.name} (${e.actor.id})` : e.actor.id,
            e.action,
            `${e.target.type}${e.target.id === null ? '' : ` ${e.target.id}`}`,
            orDash(e.sourceIp),
            e.details === null ? '-' : JSON.stringify(e.details),
          ]),
        );
      }
      return 0;
    },
  },
];
