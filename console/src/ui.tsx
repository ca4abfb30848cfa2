import type { ComponentChildren } from 'preact';
import { t } from './i18n';

/** A labelled form field with its validation error shown at it (aria-invalid, aria-describedby). */
export function Field(p: { name: string; label: string; error?: string | undefined; children: (a: { id: string; invalid: boolean; describedBy: string | undefined }) => ComponentChildren }) {
  const id = `f-${p.name.replace(/[^\w-]/g, '_')}`;
  const errId = `${id}-error`;
  return (
    <div class={`field${p.error ? ' invalid' : ''}`}>
      <label for={id}>{p.label}</label>
      {p.children({ id, invalid: !!p.error, describedBy: p.error ? errId : undefined })}
      {p.error && (
        <p class="field-error" id={errId} role="alert" data-field={p.name}>
          {p.error}
        </p>
      )}
    </div>
  );
}

const STATE_CLASS: Record<string, string> = { online: 'ok', offline: 'bad', unknown: 'muted' };

export function GatewayState({ state }: { state: string }) {
  const key = state === 'online' || state === 'offline' ? state : 'unknown';
  return <span class={`badge ${STATE_CLASS[key]}`}>{t(`state.${key}`)}</span>;
}

/**
 * Flood warning levels (báo động I/II/III, Decision 05/2020/QĐ-TTg) in the colours of the
 * national hydro-meteorological warning maps: I yellow, II orange, III red.
 */
export const FLOOD_COLOURS: Record<string, { bg: string; fg: string }> = {
  'BD I': { bg: 'rgb(255,255,0)', fg: '#000' },
  'BD II': { bg: 'rgb(255,126,0)', fg: '#000' },
  'BD III': { bg: 'rgb(255,0,0)', fg: '#fff' },
};

/** VN_AQI categories (Decision 1459/QĐ-TCMT) in their official colours. */
export const AQI_CATEGORIES = [
  { max: 50, key: 'aqi.good', bg: 'rgb(0,228,0)', fg: '#000' },
  { max: 100, key: 'aqi.moderate', bg: 'rgb(255,255,0)', fg: '#000' },
  { max: 150, key: 'aqi.poor', bg: 'rgb(255,126,0)', fg: '#000' },
  { max: 200, key: 'aqi.bad', bg: 'rgb(255,0,0)', fg: '#fff' },
  { max: 300, key: 'aqi.veryBad', bg: 'rgb(143,63,151)', fg: '#fff' },
  { max: Infinity, key: 'aqi.hazardous', bg: 'rgb(126,0,35)', fg: '#fff' },
] as const;

/** "BD II", "bd2", "II", "level-2" → the canonical "BD II"; undefined when it is no flood level. */
export function floodLevel(level: string | null | undefined): string | undefined {
  if (!level) return undefined;
  const m = /^(?:b[dđ][\s_-]*)?(i{1,3}|[123])$/i.exec(level.trim()) ?? /^(?:flood|bd|level)[\s_.-]*(i{1,3}|[123])$/i.exec(level.trim());
  if (!m) return undefined;
  const n = /^\d$/.test(m[1]!) ? Number(m[1]) : m[1]!.length;
  return `BD ${'I'.repeat(n)}`;
}

export function aqiCategory(aqi: number) {
  return AQI_CATEGORIES.find((c) => aqi <= c.max)!;
}

export function LevelBadge({ level }: { level: string | null }) {
  const flood = floodLevel(level);
  if (flood) {
    const c = FLOOD_COLOURS[flood]!;
    return (
      <span class="level" style={{ background: c.bg, color: c.fg }}>
        {t(`flood.${flood === 'BD I' ? 'bd1' : flood === 'BD II' ? 'bd2' : 'bd3'}`)}
      </span>
    );
  }
  const aqi = level !== null && /^(?:aqi[\s:=-]*)?(\d{1,3})$/i.exec(level.trim());
  if (aqi) {
    const c = aqiCategory(Number(aqi[1]));
    return (
      <span class="level" style={{ background: c.bg, color: c.fg }}>
        {t('aqi.value', { aqi: Number(aqi[1]) })} · {t(c.key)}
      </span>
    );
  }
  return level ? <span class="level">{level}</span> : null;
}

export function Loading() {
  return (
    <p class="muted" role="status">
      {t('common.loading')}
    </p>
  );
}

export function ErrorNote({ error }: { error: string | undefined }) {
  return error ? (
    <p class="error" role="alert">
      {error}
    </p>
  ) : null;
}

/** The options of a site picker: "none/all" first, then each site by name. */
export function SiteOptions({ sites, empty }: { sites: ReadonlyArray<{ id: string; name: string }>; empty: string }) {
  return (
    <>
      <option value="">{empty}</option>
      {sites.map((s) => (
        <option key={s.id} value={s.id}>
          {s.name}
        </option>
      ))}
    </>
  );
}
