import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, errorText, type AlarmView, type GatewayView, type Site } from '../api';
import { fmtAgo, fmtNumber, fmtTime, t } from '../i18n';
import { useStream } from '../stream';
import { ErrorNote, GatewayState, Loading, SiteOptions } from '../ui';

interface StatusEvent {
  gatewayId: string;
  status: string;
  lastSeen: number | null;
  configVersionRunning: number | null;
  backlog: number | null;
  devicesFailing: number | null;
}

export function FleetPage() {
  const [gateways, setGateways] = useState<GatewayView[]>();
  const [sites, setSites] = useState<Site[]>([]);
  const [alarms, setAlarms] = useState<AlarmView[]>([]);
  const [site, setSite] = useState('');
  const [tag, setTag] = useState('');
  const [error, setError] = useState<string>();

  useEffect(() => {
    Promise.all([api.listGateways(), api.listSites(), api.listAlarms({ state: 'open', limit: 1000 })]).then(
      ([g, s, a]) => {
        setGateways(g);
        setSites(s);
        setAlarms(a);
      },
      (err) => setError(errorText(err)),
    );
  }, []);

  useStream(['gateway.status', 'alarm'], (name, data) => {
    if (name === 'gateway.status') {
      const e = data as StatusEvent;
      setGateways((gs) =>
        gs?.map((g) =>
          g.id === e.gatewayId
            ? { ...g, status: { ...g.status, state: e.status as GatewayView['status']['state'], lastSeen: e.lastSeen, configVersionRunning: e.configVersionRunning, backlog: e.backlog, devicesFailing: e.devicesFailing } }
            : g,
        ),
      );
      if (!gateways?.some((g) => g.id === e.gatewayId)) api.listGateways().then(setGateways, () => undefined);
    } else {
      const a = data as AlarmView;
      setAlarms((as) => [a, ...as.filter((x) => x.id !== a.id)].filter((x) => x.state !== 'closed'));
    }
  });

  const tags = useMemo(() => [...new Set((gateways ?? []).flatMap((g) => g.tags))].sort(), [gateways]);
  const tz = useMemo(() => new Map(sites.map((s) => [s.id, s.timeZone])), [sites]);
  const openAlarms = useMemo(() => {
    const m = new Map<string, number>();
    for (const a of alarms) m.set(a.gatewayId, (m.get(a.gatewayId) ?? 0) + 1);
    return m;
  }, [alarms]);
  const shown = (gateways ?? []).filter((g) => (!site || g.siteId === site) && (!tag || g.tags.includes(tag)));
  const online = shown.filter((g) => g.status.state === 'online').length;

  return (
    <section aria-labelledby="fleet-title">
      <h1 id="fleet-title">{t('fleet.title')}</h1>
      <ErrorNote error={error} />
      <div class="filters" role="search">
        <label>
          {t('fleet.site')}
          <select id="filter-site" value={site} onChange={(e) => setSite(e.currentTarget.value)}>
            <SiteOptions sites={sites} empty={t('fleet.allSites')} />
          </select>
        </label>
        <label>
          {t('fleet.tag')}
          <select id="filter-tag" value={tag} onChange={(e) => setTag(e.currentTarget.value)}>
            <option value="">{t('fleet.allTags')}</option>
            {tags.map((x) => (
              <option key={x} value={x}>
                {x}
              </option>
            ))}
          </select>
        </label>
        <p class="summary" aria-live="polite">
          {t('fleet.summary', { online, total: shown.length })}
        </p>
      </div>
      {!gateways ? (
        <Loading />
      ) : shown.length === 0 ? (
        <p class="muted">{t('fleet.empty')}</p>
      ) : (
        <ul class="cards fleet">
          {shown.map((g) => {
            const s = g.status;
            const nAlarms = openAlarms.get(g.id) ?? 0;
            const siteName = sites.find((x) => x.id === g.siteId)?.name;
            return (
              <li key={g.id} class="card gw" data-gateway={g.id} data-state={s.state}>
                <div class="gw-head">
                  <a href={`#/gateway/${encodeURIComponent(g.id)}`} class="gw-name">
                    {g.name ?? g.id}
                  </a>
                  <GatewayState state={s.state} />
                </div>
                <p class="muted small">
                  {g.id}
                  {siteName ? ` · ${siteName}` : ''}
                  {g.tags.length > 0 ? ` · ${g.tags.join(', ')}` : ''}
                </p>
                <dl class="facts">
                  <div>
                    <dt>{t('fleet.lastSeen')}</dt>
                    <dd title={fmtTime(s.lastSeen, tz.get(g.siteId ?? ''))}>{fmtAgo(s.lastSeen)}</dd>
                  </div>
                  <div>
                    <dt>{t('fleet.config')}</dt>
                    <dd>
                      {s.configVersionRunning ?? '–'} / {g.config?.latestVersion ?? '–'}
                    </dd>
                  </div>
                  <div>
                    <dt>{t('fleet.backlog')}</dt>
                    <dd>{fmtNumber(s.backlog)}</dd>
                  </div>
                  <div>
                    <dt>{t('fleet.failing')}</dt>
                    <dd class={s.devicesFailing ? 'warn' : ''}>{fmtNumber(s.devicesFailing)}</dd>
                  </div>
                  <div>
                    <dt>{t('fleet.alarms')}</dt>
                    <dd class={nAlarms ? 'bad-text' : ''}>{fmtNumber(nAlarms)}</dd>
                  </div>
                </dl>
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}
