import { useEffect, useState } from 'preact/hooks';
import { renderSVG } from 'uqr';
import { enrollmentLink } from '../../../contract/src/enrollment-link';
import { api, fieldErrors, type EnrollmentCodeView, type GatewayView, type Site } from '../api';
import { fmtTime, t } from '../i18n';
import { useStream } from '../stream';
import { ErrorNote, Field, GatewayState, SiteOptions } from '../ui';

export function EnrolPage() {
  const [sites, setSites] = useState<Site[]>([]);
  const [form, setForm] = useState({ id: '', name: '', siteId: '', tags: '' });
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [general, setGeneral] = useState<string>();
  const [created, setCreated] = useState<{ gateway: GatewayView; enrollment: EnrollmentCodeView }>();
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    api.listSites().then(setSites, () => undefined);
  }, []);

  const gatewayId = created?.gateway.id;
  useStream(
    ['gateway.status'],
    (_n, data) => {
      const e = data as { gatewayId: string; status: string; lastSeen: number | null };
      if (created && e.gatewayId === created.gateway.id) setCreated({ ...created, gateway: { ...created.gateway, status: { ...created.gateway.status, state: e.status as 'online', lastSeen: e.lastSeen } } });
    },
    gatewayId,
  );
  // Enrollment itself is no status event: look again now and then until it is online.
  useEffect(() => {
    if (!gatewayId || created?.gateway.status.state === 'online') return;
    const timer = setInterval(() => {
      api.getGateway(gatewayId).then((g) => setCreated((c) => (c ? { ...c, gateway: g } : c)), () => undefined);
    }, 3000);
    return () => clearInterval(timer);
  }, [gatewayId, created?.gateway.status.state]);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setErrors({});
    setGeneral(undefined);
    try {
      const tags = form.tags.split(',').map((x) => x.trim()).filter(Boolean);
      setCreated(await api.createGateway({ id: form.id.trim(), ...(form.name.trim() && { name: form.name.trim() }), ...(form.siteId && { siteId: form.siteId }), ...(tags.length > 0 && { tags }) }));
    } catch (err) {
      const f = fieldErrors(err);
      setErrors(f.fields);
      setGeneral(f.general);
    } finally {
      setBusy(false);
    }
  };

  if (created) {
    const link = enrollmentLink(location.origin, created.enrollment.code);
    const g = created.gateway;
    return (
      <section aria-labelledby="enrol-title" class="enrol-done">
        <h1 id="enrol-title">{t('enrol.codeTitle', { id: g.id })}</h1>
        <div class="card qr-card">
          <div class="qr" role="img" aria-label={t('enrol.qrLabel')} dangerouslySetInnerHTML={{ __html: renderSVG(link, { border: 2 }) }} />
          <div>
            <p>{t('enrol.codeLead')}</p>
            <p class="code" id="enrol-code">
              {created.enrollment.code}
            </p>
            <p class="small">
              <span class="muted">{t('enrol.link')} </span>
              <code id="enrol-link">{link}</code>
            </p>
            <p class="small muted">{t('enrol.expires', { at: fmtTime(created.enrollment.expiresAt) })}</p>
            <p class="small">
              {t('enrol.command')} <code>{`cityedge-agent enroll '${link}'`}</code>
            </p>
          </div>
        </div>
        <p class="watch" aria-live="polite" id="enrol-state" data-state={g.status.state}>
          {g.status.state === 'online' ? t('enrol.online') : t('enrol.waiting')} <GatewayState state={g.status.state} />
        </p>
        <p>
          <a href={`#/gateway/${encodeURIComponent(g.id)}`}>{t('enrol.openGateway')}</a>
        </p>
      </section>
    );
  }

  const set = (k: keyof typeof form) => (e: Event) => setForm({ ...form, [k]: (e.currentTarget as HTMLInputElement).value });
  return (
    <section aria-labelledby="enrol-title">
      <h1 id="enrol-title">{t('enrol.title')}</h1>
      <p class="muted">{t('enrol.lead')}</p>
      <form class="card form" onSubmit={submit} noValidate>
        <Field name="id" label={t('enrol.id')} error={errors.id}>
          {(a) => <input id={a.id} name="id" required value={form.id} onInput={set('id')} aria-invalid={a.invalid} aria-describedby={a.describedBy} autocapitalize="none" spellcheck={false} />}
        </Field>
        <Field name="name" label={t('enrol.name')} error={errors.name}>
          {(a) => <input id={a.id} name="name" value={form.name} onInput={set('name')} aria-invalid={a.invalid} aria-describedby={a.describedBy} />}
        </Field>
        <Field name="siteId" label={t('enrol.site')} error={errors.siteId}>
          {(a) => (
            <select id={a.id} name="siteId" value={form.siteId} onChange={set('siteId')} aria-invalid={a.invalid} aria-describedby={a.describedBy}>
              <SiteOptions sites={sites} empty={t('enrol.noSite')} />
            </select>
          )}
        </Field>
        <Field name="tags" label={t('enrol.tags')} error={errors.tags}>
          {(a) => <input id={a.id} name="tags" value={form.tags} onInput={set('tags')} aria-invalid={a.invalid} aria-describedby={a.describedBy} placeholder={t('enrol.tagsHint')} />}
        </Field>
        <ErrorNote error={general} />
        <button type="submit" class="primary" disabled={busy}>
          {t('enrol.create')}
        </button>
      </form>
    </section>
  );
}
