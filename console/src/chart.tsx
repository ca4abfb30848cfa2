import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { currentLang } from './i18n';

/**
 * A time series of one point (uPlot): drag to zoom in, double-click to zoom out, the arrow
 * buttons of the page pan. Times on the axis in the site's time zone.
 */
export function Chart({ xs, ys, unit, label, timeZone, range }: { xs: number[]; ys: Array<number | null>; unit: string | undefined; label: string; timeZone: string | undefined; range: [number, number] | undefined }) {
  const el = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot>();
  useEffect(() => {
    if (!el.current) return;
    const width = Math.max(280, el.current.clientWidth);
    const opts: uPlot.Options = {
      width,
      height: 260,
      tzDate: timeZone ? (ts) => uPlot.tzDate(new Date(ts * 1000), timeZone) : (ts) => new Date(ts * 1000),
      fmtDate: (tpl) => uPlot.fmtDate(tpl, dateNames()),
      series: [{}, { label: unit ? `${label} (${unit})` : label, stroke: '#0b6bcb', width: 2, spanGaps: false, points: { show: xs.length < 60 } }],
      axes: [{}, { size: 60 }],
      cursor: { drag: { x: true, y: false } },
      scales: { x: { time: true, ...(range && { min: range[0] / 1000, max: range[1] / 1000 }) } },
    };
    const p = new uPlot(opts, [xs.map((x) => x / 1000), ys], el.current);
    plot.current = p;
    const onResize = () => p.setSize({ width: Math.max(280, el.current?.clientWidth ?? width), height: 260 });
    addEventListener('resize', onResize);
    return () => {
      removeEventListener('resize', onResize);
      p.destroy();
    };
  }, [xs, ys, unit, label, timeZone, range?.[0], range?.[1]]);
  return <div ref={el} class="chart" data-points={xs.length} />;
}

/** Month and weekday names for the axis, from Intl in the page's language. */
function dateNames(): uPlot.DateNames {
  const loc = currentLang() === 'vi' ? 'vi-VN' : 'en-GB';
  const months = (month: 'long' | 'short') => Array.from({ length: 12 }, (_, i) => new Intl.DateTimeFormat(loc, { month, timeZone: 'UTC' }).format(Date.UTC(2020, i, 1)));
  // 1 November 2020 was a Sunday.
  const days = (weekday: 'long' | 'short') => Array.from({ length: 7 }, (_, i) => new Intl.DateTimeFormat(loc, { weekday, timeZone: 'UTC' }).format(Date.UTC(2020, 10, 1 + i)));
  return { MMMM: months('long'), MMM: months('short'), WWWW: days('long'), WWW: days('short') };
}
