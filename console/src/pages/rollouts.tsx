import { useEffect, useState } from 'preact/hooks';
import { api, fieldErrors, errorText, type RolloutView, type Site, type User } from '../api';
import { fmtTime, t } from '../i18n';
import { useStream } from '../stream';
import { ErrorNote, Field, Loading, SiteOptions } from '../ui';

/** Start a rollout with canaries, watch its progress, see a halt and why. */
export function RolloutsPage({ user }: { user: User }) {
  const [rollouts, setRollouts] = useState<RolloutView[]>();
  const [sites, setSites] = useState<Site[]>([]);
  const [form, setForm] = useState({ site: '', tag: '', canary: '1' });
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState<string>();
  const load = () => api.listRollouts().then(setRollouts, (err) => setError(errorText(err)));
  useEffect(() => {
    load();
    api.listSites().then(setSites, () => undefined);
  }, []);
  useStream(['rollout'], () => load());

  const start = async (e: Event) => {
    e.preventDefault();
    setErrors({});
    setError(undefined);
    try {
      const canary = /^\d+$/.test(form.canary.trim()) ? Number(form.canary) : form.canary;
      await api.startRollout({ ...(form.site && { site: form.site }), ...(form.tag.trim() && { tag: form.tag.trim() }), canary } as never);
      await load();
    } catch (err) {
      const f = fieldErrors(err);
      setErrors(f.fields);
      setError(f.general);
    }
  };
  return (
    <section aria-labelledby="ro-title">
      <h1 id="ro-title">{t('ro.title')}</h1>
      {user.role !== 'viewer' && (
        <form class="card form grid2" onSubmit={start} noValidate>
          <Field name="site" label={t('fleet.site')} error={errors.site}>
            {(a) => (
              <select id={a.id} value={form.site} onChange={(e) => setForm({ ...form, site: e.currentTarget.value })} aria-invalid={a.invalid} aria-describedby={a.describedBy}>
                <SiteOptions sites={sites} empty={t('fleet.allSites')} />
              </select>
            )}
          </Field>
          <Field name="tag" label={t('fleet.tag')} error={errors.tag}>
            {(a) => <input id={a.id} value={form.tag} onInput={(e) => setForm({ ...form, tag: e.currentTarget.value })} aria-invalid={a.invalid} aria-describedby={a.describedBy} />}
          </Field>
          <Field name="canary" label={t('ro.canary')} error={errors.canary}>
            {(a) => <input id={a.id} inputMode="numeric" value={form.canary} onInput={(e) => setForm({ ...form, canary: e.currentTarget.value })} aria-invalid={a.invalid} aria-describedby={a.describedBy} />}
          </Field>
          <div class="btn-row full">
            <button type="submit" class="primary">
              {t('ro.start')}
            </button>
          </div>
        </form>
      )}
      <ErrorNote error={error} />
      {!rollouts ? (
        <Loading />
      ) : rollouts.length === 0 ? (
        <p class="muted">{t('ro.none')}</p>
      ) : (
        <ul class="cards">
          {rollouts.map((r) => (
            <li key={r.id} class="card" data-rollout={r.id} data-state={r.state}>
              <div class="gw-head">
                <strong>
                  {r.target.kind === 'site' ? t('fleet.site') : t('fleet.tag')}: {r.target.value}
                </strong>
                <span class={`badge ${r.state === 'halted' ? 'bad' : r.state === 'completed' ? 'ok' : 'muted'}`}>{r.state}</span>
              </div>
              <p class="small muted">
                {r.createdBy} · {fmtTime(r.createdAt)} · {t('ro.canaries', { n: r.canarySize })}
              </p>
              <progress max={Math.max(1, r.progress.total)} value={r.progress.committed} aria-label={t('ro.progress')} />
              <p class="small">{t('ro.counts', { committed: r.progress.committed, total: r.progress.total, failed: r.progress.failed, pending: r.progress.pending })}</p>
              {r.reason && <p class="error small">{t('ro.haltedBecause', { reason: r.reason })}</p>}
              <details>
                <summary>{t('ro.gateways')}</summary>
                <ul class="small">
                  {r.gateways.map((g) => (
                    <li key={g.gatewayId}>
                      {g.gatewayId} · {g.phase} · #{g.version ?? '–'} · {g.state}
                      {g.reason ? ` · ${g.reason}` : ''}
                    </li>
                  ))}
                </ul>
              </details>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
