import { en, vi, type MessageKey } from './dict';

export type Lang = 'vi' | 'en';
export const LANGS: readonly Lang[] = ['vi', 'en'];
const DICTS: Record<Lang, Record<MessageKey, string>> = { vi, en };
const STORE_KEY = 'cityedge.lang';

/** Vietnamese for a Vietnamese browser, English otherwise; a choice made in the page wins. */
export function initialLang(stored: string | null, navigatorLanguage: string | undefined): Lang {
  if (stored === 'vi' || stored === 'en') return stored;
  return (navigatorLanguage ?? '').toLowerCase().startsWith('vi') ? 'vi' : 'en';
}

let lang: Lang = initialLang(safeStorage()?.getItem(STORE_KEY) ?? null, globalThis.navigator?.language);
const listeners = new Set<() => void>();

function safeStorage(): Storage | undefined {
  try {
    return globalThis.localStorage;
  } catch {
    return undefined;
  }
}

export function currentLang(): Lang {
  return lang;
}

export function setLang(next: Lang): void {
  lang = next;
  safeStorage()?.setItem(STORE_KEY, next);
  document.documentElement.lang = next;
  for (const l of listeners) l();
}

export function onLangChange(l: () => void): () => void {
  listeners.add(l);
  return () => listeners.delete(l);
}

/** The message for `key` in the current language, `{name}` placeholders filled from `vars`. */
export function t(key: MessageKey, vars?: Record<string, string | number>): string {
  const s = DICTS[lang][key];
  return vars ? s.replace(/\{(\w+)\}/g, (m, k: string) => (k in vars ? String(vars[k]) : m)) : s;
}

const locale = () => (lang === 'vi' ? 'vi-VN' : 'en-GB');

/** A time in the site's time zone (the browser's when the site has none), with the zone shown. */
export function fmtTime(ts: number | null | undefined, timeZone?: string): string {
  if (ts === null || ts === undefined) return '–';
  try {
    return new Intl.DateTimeFormat(locale(), { dateStyle: 'short', timeStyle: 'medium', ...(timeZone && { timeZone }) }).format(ts);
  } catch {
    return new Intl.DateTimeFormat(locale(), { dateStyle: 'short', timeStyle: 'medium' }).format(ts);
  }
}

export function fmtNumber(v: number | null | undefined, maxDigits = 3): string {
  if (v === null || v === undefined || Number.isNaN(v)) return '–';
  return new Intl.NumberFormat(locale(), { maximumFractionDigits: maxDigits }).format(v);
}

/** "3 minutes ago" in the locale. */
export function fmtAgo(ts: number | null | undefined, now = Date.now()): string {
  if (ts === null || ts === undefined) return t('common.never');
  const s = Math.round((ts - now) / 1000);
  const rtf = new Intl.RelativeTimeFormat(locale(), { numeric: 'auto' });
  const a = Math.abs(s);
  if (a < 60) return rtf.format(s, 'second');
  if (a < 3600) return rtf.format(Math.round(s / 60), 'minute');
  if (a < 86400) return rtf.format(Math.round(s / 3600), 'hour');
  return rtf.format(Math.round(s / 86400), 'day');
}

/** A reading's value for display: numbers in the locale, booleans and strings as they are. */
export function fmtValue(v: unknown): string {
  if (typeof v === 'number') return fmtNumber(v);
  if (v === null || v === undefined) return '–';
  return String(v);
}
