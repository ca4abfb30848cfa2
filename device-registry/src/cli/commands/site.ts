import { num, requireStr, str, UsageError, type CommandSpec } from '../command.js';
import type { Output } from '../output.js';
import { DEFAULT_TIME_ZONE, formatTime, isTimeZone } from '../time-zones.js';
import type { Site } from '../registry-client.js';

const where = (s: Site) => (s.location ? `${s.location.lat}, ${s.location.lon}` : '-');

function showSite(out: Output, s: Site): void {
  out.fields([
    ['site', s.id],
    ['name', s.name],
    ['time zone', s.timeZone],
    ['location', where(s)],
    ['created', formatTime(s.createdAt, s.timeZone)],
  ]);
}

export const siteCommands: CommandSpec[] = [
  {
    group: 'site',
    name: 'create',
    args: ['id'],
    synopsis: '--name <name> [--tz <zone>] [--lat <deg> --lon <deg>]',
    summary: 'create a site',
    help: ['--name <name>   what people call it, e.g. "Riverside pumping station"', `--tz <zone>     IANA time zone its times are shown in (default ${DEFAULT_TIME_ZONE})`, '--lat, --lon    location in decimal degrees (both or neither)'],
    options: { name: { type: 'string' }, tz: { type: 'string' }, lat: { type: 'string' }, lon: { type: 'string' } },
    async run({ args, flags, client, out }) {
      const name = requireStr(flags, 'name', 'the site name');
      const timeZone = str(flags, 'tz') ?? DEFAULT_TIME_ZONE;
      if (!isTimeZone(timeZone)) throw new UsageError(`--tz: unknown time zone "${timeZone}"; expected an IANA name such as ${DEFAULT_TIME_ZONE} or Europe/Madrid`);
      const lat = num(flags, 'lat');
      const lon = num(flags, 'lon');
      if ((lat === undefined) !== (lon === undefined)) throw new UsageError(lat === undefined ? '--lat: missing; --lon needs --lat' : '--lon: missing; --lat needs --lon');
      const site = await client.createSite({ id: args[0]!, name, timeZone, ...(lat !== undefined && lon !== undefined && { location: { lat, lon } }) });
      if (out.json) out.data(site);
      else out.line(`site ${site.id} created (${site.name}, ${site.timeZone}${site.location ? `, ${where(site)}` : ''})`);
      return 0;
    },
  },
  {
    group: 'site',
    name: 'list',
    args: [],
    summary: 'list sites',
    options: {},
    async run({ client, out }) {
      const sites = await client.listSites();
      if (out.json) out.data(sites);
      else if (sites.length === 0) out.line('no sites yet; create one with: edgectl site create <id> --name <name> [--tz <zone>]');
      else out.table(['SITE', 'NAME', 'TIME ZONE', 'LOCATION'], sites.map((s) => [s.id, s.name, s.timeZone, where(s)]));
      return 0;
    },
  },
  {
    group: 'site',
    name: 'show',
    args: ['id'],
    summary: 'show a site',
    options: {},
    async run({ args, client, out }) {
      const site = await client.getSite(args[0]!);
      if (out.json) out.data(site);
      else showSite(out, site);
      return 0;
    },
  },
];
