/** One measured figure, printed as a table row and in the final JSON line. */
export interface Row {
  /** Which benchmark it belongs to, e.g. "outbox append". */
  section: string;
  name: string;
  /** undefined when it could not be measured (e.g. no /proc). */
  value: number | undefined;
  unit: string;
  /** Target the figure is compared with; rows without one are informational. */
  target?: { op: '>=' | '<='; value: number };
  note?: string;
}

export type Verdict = 'ok' | 'MISSED' | '';

export function verdict(row: Row): Verdict {
  if (!row.target) return '';
  if (row.value === undefined || !Number.isFinite(row.value)) return 'MISSED';
  return (row.target.op === '>=' ? row.value >= row.target.value : row.value <= row.target.value) ? 'ok' : 'MISSED';
}

export function formatNumber(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return 'n/a';
  const abs = Math.abs(v);
  const digits = abs >= 1000 ? 0 : abs >= 100 ? 1 : abs >= 10 ? 1 : 2;
  return v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** A plain-text table: one block per section. */
export function formatTable(rows: readonly Row[]): string {
  const cells = rows.map((r) => ({
    section: r.section,
    name: r.name,
    value: `${formatNumber(r.value)} ${r.unit}`.trim(),
    target: r.target ? `${r.target.op} ${formatNumber(r.target.value)} ${r.unit}`.trim() : '',
    result: verdict(r),
    note: r.note ?? '',
  }));
  const w = {
    name: Math.max(4, ...cells.map((c) => c.name.length)),
    value: Math.max(5, ...cells.map((c) => c.value.length)),
    target: Math.max(6, ...cells.map((c) => c.target.length)),
    result: 6,
  };
  const line = (name: string, value: string, target: string, result: string, note: string) =>
    `  ${name.padEnd(w.name)}  ${value.padStart(w.value)}  ${target.padEnd(w.target)}  ${result.padEnd(w.result)}  ${note}`.trimEnd();
  const out: string[] = [];
  let section: string | undefined;
  for (const c of cells) {
    if (c.section !== section) {
      section = c.section;
      out.push('', section);
      out.push(line('measure', 'value', 'target', 'result', 'note'));
    }
    out.push(line(c.name, c.value, c.target, c.result, c.note));
  }
  return out.join('\n');
}

/** One line for machines: every row with its verdict. */
export function formatJson(machine: Record<string, unknown>, rows: readonly Row[], extra: Record<string, unknown>): string {
  return JSON.stringify({
    bench: 'cityedge',
    ...extra,
    machine,
    results: rows.map((r) => ({
      section: r.section,
      name: r.name,
      value: r.value === undefined || !Number.isFinite(r.value) ? null : Number(r.value.toFixed(3)),
      unit: r.unit,
      ...(r.target && { target: `${r.target.op} ${r.target.value}`, ok: verdict(r) === 'ok' }),
      ...(r.note && { note: r.note }),
    })),
  });
}
