import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, errorText, type AlarmView, type Site, type User } from '../api';
import { fmtTime, t } from '../i18n';
import { useStream } from '../stream';
import { ErrorNote, LevelBadge, Loading } from '../ui';

const STATES = ['raised', 'acknowledged', 'cleared', 'closed'] as const;

/** Open, acknowledged and cleared alarms, live; acknowledge from the page. */
export function AlarmsPage({ user }: { user: User }) {
  const [alarms, setAlarms] = useState<AlarmView[]>();
  const [sites, setSites] = useState<Site[]>([]);
  const [filter, setFilter] = useState<'open' | 'all'>('open');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState<number>();
  useEffect(() => {
    api.listAlarms({ state: filter, limit: 500 }).then(setAlarms, (err) => setError(errorText(err)));
  }, [filter]);
  useEffect(() => {
    api.listSites().then(setSites, () => undefined);
  }, []);
  useStream(['alarm'], (_n, data) => {
    const a = data as AlarmView;
    setAlarms((as) => [a, ...(as ?? []).filter((x) => x.id !== a.id)].filter((x) => filter === 'all' || x.state !== 'closed').sort((x, y) => y.raisedAt - x.raisedAt));
  });
  const tz = useMemo(() => new Map(sites.map((s) => [s.id, s.timeZone])), [sites]);
  const ack = async (a: AlarmView) => {
    setBusy(a.id);
    setError(undefined);
    try {
      const updated = await api.acknowledgeAlarm(a.id);
      setAlarms((as) => (as ?? []).map((x) => (x.id === a.id ? updated : x)).filter((x) => filter === 'all' || x.state !== 'closed'));
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(undefined);
    }
  };
  return (
    <section aria-labelledby="alarms-title">
      <h1 id="alarms-title">{t('alarms.title')}</h1>
      <div class="filters">
        <label>
          {t('alarms.show')}
          <select value={filter} onChange={(e) => setFilter(e.currentTarget.value as 'open' | 'all')}>
            <option value="open">{t('alarms.open')}</option>
            <option value="all">{t('alarms.all')}</option>
          </select>
        </label>
      </div>
      <ErrorNote error={error} />
      {!alarms ? (
        <Loading />
      ) : alarms.length === 0 ? (
        <p class="muted">{t('alarms.none')}</p>
      ) : (
        <ul class="cards alarms" aria-live="polite">
          {alarms.map((a) => {
            const zone = tz.get(a.siteId ?? '');
            const state = (STATES as readonly string[]).includes(a.state) ? a.state : 'raised';
            return (
              <li key={a.id} class={`card alarm sev-${a.severity} st-${a.state}`} data-alarm={a.id} data-key={a.key} data-state={a.state}>
                <div class="alarm-head">
                  <LevelBadge level={a.level} />
                  <span class={`badge st-${a.state}`}>{t(`alarm.state.${state}`)}</span>
                  <span class="small muted">{t(`severity.${a.severity as 'info' | 'warning' | 'alarm' | 'critical'}`) ?? a.severity}</span>
                </div>
                <p class="alarm-msg">{a.message}</p>
                <p class="small muted">
                  <a href={`#/gateway/${encodeURIComponent(a.gatewayId)}`}>{a.gatewayId}</a>
                  {a.dev ? ` · ${a.dev}` : ''} · {a.key}
                </p>
                <p class="small">
                  {t('alarms.raisedAt', { at: fmtTime(a.raisedAt, zone) })}
                  {a.clearedAt ? ` · ${t('alarms.clearedAt', { at: fmtTime(a.clearedAt, zone) })}` : ''}
                </p>
                {a.acknowledgedBy && (
                  <p class="small ackby">
                    {t('alarms.ackBy', { who: a.acknowledgedBy, at: fmtTime(a.acknowledgedAt, zone) })}
                  </p>
                )}
                {user.role !== 'viewer' && !a.acknowledgedBy && a.state !== 'closed' && (
                  <button type="button" class="primary" disabled={busy === a.id} onClick={() => ack(a)}>
                    {t('alarms.ack')}
                  </button>
                )}
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}
