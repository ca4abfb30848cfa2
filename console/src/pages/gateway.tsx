import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api, errorText, type DeviceRecord, type GatewayView, type LineView, type ReadingRow, type ReadingSeries, type User } from '../api';
import { Chart } from '../chart';
import { fmtAgo, fmtTime, fmtValue, t } from '../i18n';
import { useStream } from '../stream';
import { ErrorNote, GatewayState, Loading } from '../ui';
import { CommandsPanel } from './gateway-commands';
import { ConfigPanel } from './gateway-config';
import { DeviceEditor } from './gateway-edit';

interface ReadingsEvent {
  gatewayId: string;
  deviceId: string;
  readings: Array<{ point: string; value: unknown; unit?: string | null; quality: string; ts: number }>;
}

/** Latest value of each device point: `dev/pt` → reading. */
type Latest = Record<string, { v: unknown; u: string | undefined; q: string; ts: number }>;

const RANGES = [
  { key: 'range.1h', ms: 3_600_000 },
  { key: 'range.6h', ms: 6 * 3_600_000 },
  { key: 'range.24h', ms: 24 * 3_600_000 },
  { key: 'range.7d', ms: 7 * 24 * 3_600_000 },
] as const;

export function GatewayPage({ id, user }: { id: string; user: User }) {
  const [gw, setGw] = useState<GatewayView>();
  const [timeZone, setTimeZone] = useState<string>();
  const [lines, setLines] = useState<LineView[]>([]);
  const [devices, setDevices] = useState<DeviceRecord[]>([]);
  const [latest, setLatest] = useState<Latest>({});
  const [error, setError] = useState<string>();
  const [editing, setEditing] = useState<DeviceRecord | 'new'>();
  const [chartOf, setChartOf] = useState<{ dev: string; pt: string }>();
  const canEdit = user.role !== 'viewer';
  const pendingReadings = useRef<Latest>({});
  const flushTimer = useRef<ReturnType<typeof setTimeout>>();
  useEffect(() => () => clearTimeout(flushTimer.current), []);

  const loadInventory = async () => {
    const [l, d] = await Promise.all([api.listLines(id), api.listDevices(id)]);
    setLines(l);
    setDevices(d);
    const rows = await Promise.all(d.map((dev) => api.recentReadings(id, dev.id, undefined, 200).catch(() => [] as ReadingRow[])));
    const next: Latest = {};
    for (const r of rows.flat()) {
      const k = `${r.dev}/${r.pt}`;
      if (!next[k] || next[k].ts < r.ts) next[k] = { v: r.v, u: r.u, q: r.q, ts: r.ts };
    }
    setLatest((old) => ({ ...next, ...Object.fromEntries(Object.entries(old).filter(([k, v]) => !next[k] || next[k].ts < v.ts)) }));
  };

  useEffect(() => {
    api.getGateway(id).then(
      (g) => {
        setGw(g);
        if (g.siteId) api.getSite(g.siteId).then((s) => setTimeZone(s.timeZone), () => undefined);
      },
      (err) => setError(errorText(err)),
    );
    loadInventory().catch((err) => setError(errorText(err)));
  }, [id]);

  useStream(
    ['gateway.status', 'readings'],
    (name, data) => {
      if (name === 'gateway.status') {
        const e = data as { gatewayId: string; status: string; lastSeen: number | null; configVersionRunning: number | null; backlog: number | null; devicesFailing: number | null };
        if (e.gatewayId === id) setGw((g) => g && { ...g, status: { ...g.status, state: e.status as 'online', lastSeen: e.lastSeen, configVersionRunning: e.configVersionRunning, backlog: e.backlog, devicesFailing: e.devicesFailing } });
      } else {
        const e = data as ReadingsEvent;
        if (e.gatewayId !== id) return;
        // Drawn at most twice a second, however fast readings come (a phone keeps up).
        for (const r of e.readings) pendingReadings.current[`${e.deviceId}/${r.point}`] = { v: r.value, u: r.unit ?? undefined, q: r.quality, ts: r.ts };
        flushTimer.current ??= setTimeout(() => {
          flushTimer.current = undefined;
          const batch = pendingReadings.current;
          pendingReadings.current = {};
          setLatest((old) => ({ ...old, ...batch }));
        }, 500);
      }
    },
    id,
  );

  if (error && !gw) return <ErrorNote error={error} />;
  if (!gw) return <Loading />;
  const s = gw.status;
  return (
    <section aria-labelledby="gw-title" class="gateway">
      <div class="gw-head">
        <h1 id="gw-title">{gw.name ?? gw.id}</h1>
        <GatewayState state={s.state} />
      </div>
      <p class="muted small">
        {gw.id} · {t('fleet.lastSeen')}: <span title={fmtTime(s.lastSeen, timeZone)}>{fmtAgo(s.lastSeen)}</span> · {t('fleet.config')}: {s.configVersionRunning ?? '–'} / {gw.config?.latestVersion ?? '–'}
        {timeZone ? ` · ${timeZone}` : ''}
      </p>
      <ErrorNote error={error} />

      <h2>{t('gw.devices')}</h2>
      {lines.length === 0 && devices.length === 0 && <p class="muted">{t('gw.noDevices')}</p>}
      {lines.map((line) => (
        <div class="card line" key={line.id}>
          <h3>
            {t('gw.line')} {line.id} <span class="muted small">{line.type} {line.path ?? (line.host ? `${line.host}:${line.port ?? ''}` : '')}</span>
          </h3>
          {devices
            .filter((d) => d.lineId === line.id)
            .map((d) => {
              const points = Object.entries(latest).filter(([k]) => k.startsWith(`${d.id}/`));
              return (
                <div class="device" key={d.id} data-device={d.id}>
                  <div class="device-head">
                    <strong>{d.name ?? d.id}</strong>
                    <span class="muted small">
                      {d.id} · {d.profile}
                      {d.unitId !== null ? ` · ${t('gw.unit')} ${d.unitId}` : ''}
                      {d.enabled ? '' : ` · ${t('gw.disabled')}`}
                    </span>
                    {canEdit && (
                      <button type="button" class="small-btn" onClick={() => setEditing(d)} aria-label={t('gw.editDevice', { id: d.id })}>
                        {t('common.edit')}
                      </button>
                    )}
                  </div>
                  {points.length === 0 ? (
                    <p class="muted small">{t('gw.noReadings')}</p>
                  ) : (
                    <table class="points">
                      <thead>
                        <tr>
                          <th scope="col">{t('gw.point')}</th>
                          <th scope="col">{t('gw.value')}</th>
                          <th scope="col">{t('gw.quality')}</th>
                          <th scope="col">{t('gw.time')}</th>
                        </tr>
                      </thead>
                      <tbody>
                        {points.map(([k, r]) => {
                          const pt = k.slice(d.id.length + 1);
                          return (
                            <tr key={k} data-point={k}>
                              <td>
                                <button type="button" class="link" onClick={() => setChartOf({ dev: d.id, pt })} aria-label={t('gw.chartOf', { point: pt })}>
                                  {pt}
                                </button>
                              </td>
                              <td class="num">
                                <span class="value">{fmtValue(r.v)}</span> {r.u ?? ''}
                              </td>
                              <td>
                                <span class={`badge ${r.q === 'good' ? 'ok' : 'bad'}`}>{t(r.q === 'good' ? 'quality.good' : 'quality.bad')}</span>
                              </td>
                              <td class="small">{fmtTime(r.ts, timeZone)}</td>
                            </tr>
                          );
                        })}
                      </tbody>
                    </table>
                  )}
                </div>
              );
            })}
        </div>
      ))}
      {canEdit && (
        <p>
          <button type="button" onClick={() => setEditing('new')} disabled={lines.length === 0}>
            {t('gw.addDevice')}
          </button>
        </p>
      )}
      {editing && (
        <DeviceEditor
          gatewayId={id}
          device={editing === 'new' ? undefined : editing}
          lines={lines}
          onClose={() => setEditing(undefined)}
          onSaved={() => {
            setEditing(undefined);
            loadInventory().catch((err) => setError(errorText(err)));
          }}
        />
      )}
      {chartOf && <PointChart gatewayId={id} dev={chartOf.dev} pt={chartOf.pt} timeZone={timeZone} onClose={() => setChartOf(undefined)} />}
      <ConfigPanel gateway={gw} user={user} timeZone={timeZone} onChanged={() => api.getGateway(id).then(setGw, () => undefined)} />
      {canEdit && <CommandsPanel gatewayId={id} devices={devices} lines={lines} />}
    </section>
  );
}

function PointChart({ gatewayId, dev, pt, timeZone, onClose }: { gatewayId: string; dev: string; pt: string; timeZone: string | undefined; onClose: () => void }) {
  const [series, setSeries] = useState<ReadingSeries>();
  const [span, setSpan] = useState<number>(RANGES[2].ms);
  const [end, setEnd] = useState(() => Date.now());
  // Downsampled by the registry: min, avg and max per bucket, whatever the span.
  useEffect(() => {
    api.readingSeries(gatewayId, { device: dev, point: pt, from: Math.round(end - span), to: Math.round(end) }).then(setSeries, () => setSeries(undefined));
  }, [gatewayId, dev, pt, span, end]);
  const data = useMemo(() => {
    const b = series?.buckets ?? [];
    return { xs: b.map((x) => x.ts), ys: b.map((x) => x.avg), unit: series?.unit ?? undefined };
  }, [series]);
  const rows = series?.buckets;
  const range: [number, number] = [end - span, end];
  return (
    <div class="card chart-card" role="region" aria-label={t('gw.chartOf', { point: `${dev}/${pt}` })}>
      <div class="chart-head">
        <h3>
          {dev} / {pt}
        </h3>
        <div class="btn-row">
          {RANGES.map((r) => (
            <button type="button" key={r.key} aria-pressed={span === r.ms} onClick={() => setSpan(r.ms)}>
              {t(r.key)}
            </button>
          ))}
          <button type="button" onClick={() => setEnd(end - span / 2)} aria-label={t('chart.earlier')}>
            ←
          </button>
          <button type="button" onClick={() => setEnd(Math.min(Date.now(), end + span / 2))} aria-label={t('chart.later')}>
            →
          </button>
          <button type="button" onClick={onClose}>
            {t('common.close')}
          </button>
        </div>
      </div>
      {!rows ? <Loading /> : rows.length === 0 ? <p class="muted">{t('gw.noReadings')}</p> : <Chart xs={data.xs} ys={data.ys} unit={data.unit} label={pt} timeZone={timeZone} range={range} />}
      <p class="muted small">{t('chart.hint')}</p>
    </div>
  );
}
