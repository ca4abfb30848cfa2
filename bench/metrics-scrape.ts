/** A Prometheus text exposition reduced to what the benchmark reads: name -> samples. */
export type Samples = Map<string, Array<{ labels: string; value: number }>>;

export async function scrape(url: string): Promise<Samples | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
    if (!res.ok) return undefined;
    return parse(await res.text());
  } catch {
    return undefined;
  }
}

export function parse(text: string): Samples {
  const out: Samples = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const name = m[1] as string;
    let list = out.get(name);
    if (!list) out.set(name, (list = []));
    list.push({ labels: m[2] ?? '', value: Number(m[3]) });
  }
  return out;
}

export function maxOf(s: Samples | undefined, name: string): number | undefined {
  const list = s?.get(name);
  if (!list || list.length === 0) return undefined;
  return Math.max(...list.map((x) => x.value));
}

export function sumOf(s: Samples | undefined, name: string, labelFilter?: string): number | undefined {
  const list = s?.get(name);
  if (!list) return undefined;
  return list.filter((x) => !labelFilter || x.labels.includes(labelFilter)).reduce((a, x) => a + x.value, 0);
}
