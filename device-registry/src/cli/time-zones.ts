import { isValidTimeZone } from '../service/site-service.js';
import type { GatewayView, Site } from './registry-client.js';

/** Where the cities we serve are, unless EDGECTL_TZ says otherwise: times people read are local. */
export const DEFAULT_TIME_ZONE = 'Asia/Ho_Chi_Minh';

/** The registry's own check of `site create --tz` (an IANA zone Intl knows). */
export const isTimeZone = isValidTimeZone;

const formats = new Map<string, Intl.DateTimeFormat>();

function formatFor(zone: string): Intl.DateTimeFormat {
  let f = formats.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23', timeZoneName: 'longOffset' });
    formats.set(zone, f);
  }
  return f;
}

/**
 * `2025-06-02 17:00:00 +07:00`: the wall-clock time in `zone` with its offset from UTC, so the
 * reader needs no conversion and the instant stays unambiguous (also across DST changes).
 * JSON output keeps milliseconds since the epoch (UTC); only human output goes through here.
 */
export function formatTime(ms: number | null | undefined, zone: string = DEFAULT_TIME_ZONE): string {
  if (ms === null || ms === undefined) return '-';
  const p = Object.fromEntries(formatFor(zone).formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
  const offset = p.timeZoneName === 'GMT' ? '+00:00' : (p.timeZoneName ?? '').replace(/^GMT/, '');
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second} ${offset}`;
}

/** What edgectl needs of the registry to know a site's zone. */
export interface ZoneSource {
  listSites(): Promise<Site[]>;
  getGateway(id: string): Promise<GatewayView>;
}

/**
 * The time zone to show a record's times in: its site's (`site create --tz`), else the fallback
 * (EDGECTL_TZ, default Asia/Ho_Chi_Minh) for what belongs to no site (tokens, the audit log,
 * rollouts by tag). Sites are read once per command. A lookup that fails falls back: the command
 * itself reports what is wrong with the record.
 */
export class TimeZones {
  private sites: Promise<Map<string, string>> | undefined;
  private readonly gateways = new Map<string, Promise<string>>();

  constructor(
    private readonly source: ZoneSource,
    readonly fallback: string = DEFAULT_TIME_ZONE,
  ) {}

  async forSite(siteId: string | null | undefined): Promise<string> {
    if (!siteId) return this.fallback;
    this.sites ??= this.source.listSites().then(
      (all) => new Map(all.map((s) => [s.id, s.timeZone])),
      () => new Map<string, string>(),
    );
    const zone = (await this.sites).get(siteId);
    return zone !== undefined && isTimeZone(zone) ? zone : this.fallback;
  }

  async forGateway(gateway: string | Pick<GatewayView, 'siteId'>): Promise<string> {
    if (typeof gateway !== 'string') return this.forSite(gateway.siteId);
    let zone = this.gateways.get(gateway);
    if (!zone) {
      zone = this.source.getGateway(gateway).then(
        (g) => this.forSite(g.siteId),
        () => this.fallback,
      );
      this.gateways.set(gateway, zone);
    }
    return zone;
  }
}
