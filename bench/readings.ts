import type { Reading } from '@cityedge/contract';

/** The points of a Vaisala AQT530 as the agent reports them: name, unit, typical value. */
const POINTS: ReadonlyArray<readonly [string, string, number]> = [
  ['no2', 'ppb', 21],
  ['so2', 'ppb', 3],
  ['co', 'ppb', 310],
  ['o3', 'ppb', 28],
  ['no', 'ppb', 6],
  ['pm2_5', 'ug/m3', 12.5],
  ['pm10', 'ug/m3', 24.1],
  ['temperature', 'C', 21.3],
  ['humidity', '%', 54.2],
  ['pressure', 'hPa', 1012.7],
];

/** A seeded generator so two runs write the same bytes. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

/**
 * Poll-sized groups of realistic readings (one group = one poll of one AQT530: 10 points, about
 * 80 bytes of JSON each), over `devices` devices, one poll per device per second.
 */
export function pollGroups(total: number, groupSize: number, devices = 50, start = Date.now()): Reading[][] {
  const rand = lcg(42);
  const groups: Reading[][] = [];
  let made = 0;
  let poll = 0;
  while (made < total) {
    const dev = `aq-${poll % devices}`;
    const ts = start + Math.floor(poll / devices) * 1000 + (poll % devices) * 7;
    const n = Math.min(groupSize, total - made);
    const g = new Array<Reading>(n);
    for (let i = 0; i < n; i++) {
      const [pt, u, base] = POINTS[(made + i) % POINTS.length] as readonly [string, string, number];
      g[i] = { dev, pt, ts, v: Math.round(base * (0.8 + 0.4 * rand()) * 10) / 10, q: 'good', u };
    }
    groups.push(g);
    made += n;
    poll++;
  }
  return groups;
}

/** Mean size of the JSON text of the readings, bytes. */
export function meanJsonBytes(groups: readonly Reading[][]): number {
  let bytes = 0;
  let n = 0;
  for (const g of groups.slice(0, 100)) {
    for (const r of g) {
      bytes += Buffer.byteLength(JSON.stringify(r));
      n++;
    }
  }
  return n === 0 ? 0 : bytes / n;
}
