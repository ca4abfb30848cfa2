import type { GatewayProblems } from '../repos/gateways-repo.js';

/** One line per line and device problem, for people: `line rs485: cannot open (ENOENT): ...`. */
export function problemLines(p: GatewayProblems): string[] {
  const out = [
    ...p.lines.map((l) => `line ${l.line}: cannot be opened${l.cause ? ` (${l.cause})` : ''}: ${l.message}`),
    ...p.devices.map((d) => `device ${d.dev} (line ${d.line}): ${d.message}`),
  ];
  if (p.omitted && (p.omitted.lines > 0 || p.omitted.devices > 0)) out.push(`... and ${p.omitted.lines} more lines, ${p.omitted.devices} more devices`);
  return out;
}

export function problemCount(p: GatewayProblems): { lines: number; devices: number } {
  return { lines: p.lines.length + (p.omitted?.lines ?? 0), devices: p.devices.length + (p.omitted?.devices ?? 0) };
}

/** "1 line and 2 devices" */
export function problemSummary(p: GatewayProblems): string {
  const { lines, devices } = problemCount(p);
  const parts = [lines > 0 ? `${lines} line${lines > 1 ? 's' : ''}` : '', devices > 0 ? `${devices} device${devices > 1 ? 's' : ''}` : ''].filter(Boolean);
  return parts.join(' and ');
}
