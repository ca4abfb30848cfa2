import { useState } from 'preact/hooks';
import { api, fieldErrors, type DeviceInput, type DeviceRecord, type LineView } from '../api';
import { t } from '../i18n';
import { ErrorNote, Field } from '../ui';

const NUMBERS = ['unitId', 'pollIntervalMs', 'timeoutMs', 'addressOffset'] as const;
type NumberField = (typeof NUMBERS)[number];
const NUMBER_LABEL: Record<NumberField, 'dev.unitId' | 'dev.pollIntervalMs' | 'dev.timeoutMs' | 'dev.addressOffset'> = {
  unitId: 'dev.unitId',
  pollIntervalMs: 'dev.pollIntervalMs',
  timeoutMs: 'dev.timeoutMs',
  addressOffset: 'dev.addressOffset',
};

/** "12" → 12; "" → undefined; anything else as typed, so the registry names the field. */
function num(s: string): number | string | undefined {
  const v = s.trim();
  if (v === '') return undefined;
  return /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v;
}

/** Add or edit a device; every validation problem of the registry is shown at its field. */
export function DeviceEditor({ gatewayId, device, lines, onClose, onSaved }: { gatewayId: string; device: DeviceRecord | undefined; lines: LineView[]; onClose: () => void; onSaved: () => void }) {
  const [form, setForm] = useState({
    id: device?.id ?? '',
    lineId: device?.lineId ?? lines[0]?.id ?? '',
    profile: device?.profile ?? '',
    name: device?.name ?? '',
    unitId: device?.unitId?.toString() ?? '',
    pollIntervalMs: device?.pollIntervalMs?.toString() ?? '',
    timeoutMs: device?.timeoutMs?.toString() ?? '',
    addressOffset: device?.addressOffset ? String(device.addressOffset) : '',
    enabled: device?.enabled ?? true,
    points: device && Object.keys(device.points).length > 0 ? JSON.stringify(device.points, null, 2) : '',
  });
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [general, setGeneral] = useState<string>();
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState(false);

  const save = async (e: Event) => {
    e.preventDefault();
    setErrors({});
    setGeneral(undefined);
    setSaved(false);
    let points: DeviceInput['points'];
    if (form.points.trim()) {
      try {
        points = JSON.parse(form.points) as DeviceInput['points'];
      } catch {
        setErrors({ points: t('dev.pointsJson') });
        return;
      }
    }
    const input: Record<string, unknown> = { lineId: form.lineId, profile: form.profile.trim(), enabled: form.enabled };
    if (form.name.trim()) input.name = form.name.trim();
    for (const k of NUMBERS) {
      const v = num(form[k]);
      if (v !== undefined) input[k] = v;
    }
    if (points) input.points = points;
    setBusy(true);
    try {
      if (device) await api.replaceDevice(gatewayId, device.id, input as unknown as DeviceInput);
      else await api.addDevice(gatewayId, { ...(input as unknown as DeviceInput), id: form.id.trim() });
      setSaved(true);
      onSaved();
    } catch (err) {
      const f = fieldErrors(err);
      // Problems inside the point overrides are shown at the overrides, with their path.
      const fields: Record<string, string> = {};
      for (const [k, v] of Object.entries(f.fields)) {
        if (k.startsWith('points.')) fields.points = fields.points ? `${fields.points}; ${k.slice(7)}: ${v}` : `${k.slice(7)}: ${v}`;
        else fields[k] = v;
      }
      setErrors(fields);
      setGeneral(f.general);
    } finally {
      setBusy(false);
    }
  };

  const set = (k: keyof typeof form) => (e: Event) => setForm({ ...form, [k]: (e.currentTarget as HTMLInputElement).value });
  const known = new Set(['id', 'lineId', 'profile', 'name', 'points', 'enabled', ...NUMBERS]);
  const unplaced = Object.entries(errors).filter(([k]) => !known.has(k.split('.')[0]!));
  return (
    <div class="card editor" role="dialog" aria-modal="false" aria-labelledby="dev-edit-title">
      <h3 id="dev-edit-title">{device ? t('dev.editTitle', { id: device.id }) : t('dev.addTitle')}</h3>
      <form onSubmit={save} noValidate class="form grid2">
        {!device && (
          <Field name="id" label={t('dev.id')} error={errors.id}>
            {(a) => <input id={a.id} name="id" value={form.id} onInput={set('id')} aria-invalid={a.invalid} aria-describedby={a.describedBy} required />}
          </Field>
        )}
        <Field name="lineId" label={t('dev.line')} error={errors.lineId}>
          {(a) => (
            <select id={a.id} name="lineId" value={form.lineId} onChange={set('lineId')} aria-invalid={a.invalid} aria-describedby={a.describedBy}>
              {lines.map((l) => (
                <option key={l.id} value={l.id}>
                  {l.id}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field name="profile" label={t('dev.profile')} error={errors.profile}>
          {(a) => <input id={a.id} name="profile" value={form.profile} onInput={set('profile')} aria-invalid={a.invalid} aria-describedby={a.describedBy} />}
        </Field>
        <Field name="name" label={t('dev.name')} error={errors.name}>
          {(a) => <input id={a.id} name="name" value={form.name} onInput={set('name')} aria-invalid={a.invalid} aria-describedby={a.describedBy} />}
        </Field>
        {NUMBERS.map((k) => (
          <Field key={k} name={k} label={t(NUMBER_LABEL[k])} error={errors[k]}>
            {(a) => <input id={a.id} name={k} inputMode="numeric" value={form[k]} onInput={set(k)} aria-invalid={a.invalid} aria-describedby={a.describedBy} />}
          </Field>
        ))}
        <div class="field check">
          <label>
            <input type="checkbox" name="enabled" checked={form.enabled} onChange={(e) => setForm({ ...form, enabled: e.currentTarget.checked })} /> {t('dev.enabled')}
          </label>
        </div>
        <Field name="points" label={t('dev.points')} error={errors.points}>
          {(a) => <textarea id={a.id} name="points" rows={5} value={form.points} onInput={set('points')} aria-invalid={a.invalid} aria-describedby={a.describedBy} placeholder={t('dev.pointsHint')} spellcheck={false} />}
        </Field>
        {unplaced.map(([k, v]) => (
          <p class="error" role="alert" key={k}>
            {k}: {v}
          </p>
        ))}
        <ErrorNote error={general} />
        <div class="btn-row full">
          <button type="submit" class="primary" disabled={busy}>
            {t('common.save')}
          </button>
          <button type="button" onClick={onClose}>
            {t('common.cancel')}
          </button>
          {saved && <span role="status">{t('common.saved')}</span>}
        </div>
      </form>
    </div>
  );
}
