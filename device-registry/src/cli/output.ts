/** Where edgectl writes and what it reads from its surroundings; `main` gets it, tests capture it. */
export interface CliIo {
  stdout: { write(chunk: string): unknown };
  stderr: { write(chunk: string): unknown };
  /** EDGECTL_REGISTRY, EDGECTL_TOKEN. */
  env: Readonly<Record<string, string | undefined>>;
  /** Aborted on Ctrl-C: requests stop, watches end (exit 130). */
  signal?: AbortSignal;
  /** Clock for watches and "3 min ago"; default Date.now. */
  now?: () => number;
}

/** Human or JSON output on stdout; messages on stderr with the secret (the token) masked. */
export class Output {
  constructor(
    private readonly io: CliIo,
    readonly json: boolean,
    private readonly secrets: readonly string[] = [],
  ) {}

  line(text = ''): void {
    this.io.stdout.write(text + '\n');
  }

  /** The value as indented JSON (one document). */
  data(value: unknown): void {
    this.io.stdout.write(JSON.stringify(value, null, 2) + '\n');
  }

  /** One compact JSON line (watch events: newline-delimited JSON). */
  event(value: unknown): void {
    this.io.stdout.write(JSON.stringify(value) + '\n');
  }

  error(text: string): void {
    this.io.stderr.write(mask(text, this.secrets) + '\n');
  }

  table(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): void {
    const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
    const fmt = (cells: readonly string[]) =>
      cells
        .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd();
    this.line(fmt(headers));
    for (const r of rows) this.line(fmt(r));
  }

  /** Aligned `key: value` lines. */
  fields(pairs: ReadonlyArray<readonly [string, string]>): void {
    const w = Math.max(...pairs.map(([k]) => k.length)) + 1;
    for (const [k, v] of pairs) this.line(`${(k + ':').padEnd(w)} ${v}`);
  }
}

/** Replaces every occurrence of each secret (at least 4 characters) with [redacted]. */
export function mask(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join('[redacted]');
  return out;
}

/** `42 s ago`, `in 24 h`, `3 d ago`. */
export function relative(ms: number | null | undefined, now: number): string {
  if (ms === null || ms === undefined) return 'never';
  const d = ms - now;
  const a = Math.abs(d);
  const span = a < 60_000 ? `${Math.round(a / 1000)} s` : a < 3_600_000 ? `${Math.round(a / 60_000)} min` : a < 172_800_000 ? `${Math.round(a / 3_600_000)} h` : `${Math.round(a / 86_400_000)} d`;
  return d >= 0 ? `in ${span}` : `${span} ago`;
}

export function orDash(v: string | number | null | undefined): string {
  return v === null || v === undefined || v === '' ? '-' : String(v);
}
