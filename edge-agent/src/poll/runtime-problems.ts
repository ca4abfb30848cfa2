import { MAX_REPORTED_PROBLEMS, type DeviceProblem, type LineProblem, type RuntimeProblems } from '@cityedge/contract';
import type { LineStats } from './line-scheduler.js';

/**
 * What is wrong on the lines and devices now, from their statistics: a line whose port cannot
 * be opened; a device that was polled and never answered, was quarantined, or failed its last
 * poll. A device not polled yet is not a problem (yet): that includes the devices of a Firmata
 * board during its first handshake, which are polled only once it ends (FirmataLine), so a board
 * still booting shows no problem and one that cannot be reached shows them after handshakeTimeoutMs.
 */
export function runtimeProblems(lines: readonly LineStats[]): RuntimeProblems {
  const out: { lines: LineProblem[]; devices: DeviceProblem[] } = { lines: [], devices: [] };
  for (const l of lines) {
    const e = l.openError;
    if (e) out.lines.push({ line: l.id, code: e.code, ...(e.cause !== undefined && { cause: e.cause }), message: e.message, since: e.since });
    for (const d of l.devices) {
      if (d.polls === 0 || d.consecutiveFailures === 0) continue;
      const code = d.lastError ?? 'EDGE_MODBUS_TIMEOUT';
      const state: DeviceProblem['state'] = d.answers === 0 ? 'never-answered' : d.quarantined ? 'quarantined' : 'failing';
      const message =
        state === 'never-answered'
          ? `never answered (${d.consecutiveFailures} polls, ${code}${e ? `: line ${l.id} cannot be opened` : ''})`
          : state === 'quarantined'
            ? `stopped answering (${d.consecutiveFailures} failed polls, ${code}); polled with backoff`
            : `last poll failed (${code})`;
      out.devices.push({ dev: d.id, line: l.id, state, code, message, since: d.failingSince ?? d.lastPollAt ?? 0 });
    }
  }
  return out;
}

/** At most MAX_REPORTED_PROBLEMS of each listed, the rest counted: a report stays well under the registry's payload limit. */
export function capProblems(p: RuntimeProblems): RuntimeProblems {
  const { lines: maxLines, devices: maxDevices } = MAX_REPORTED_PROBLEMS;
  if (p.lines.length <= maxLines && p.devices.length <= maxDevices) return p;
  return { lines: p.lines.slice(0, maxLines), devices: p.devices.slice(0, maxDevices), omitted: { lines: Math.max(0, p.lines.length - maxLines), devices: Math.max(0, p.devices.length - maxDevices) } };
}

/** What identifies a set of problems for "did it change": not the times or the wording. */
export function problemsKey(p: RuntimeProblems): string {
  return JSON.stringify([p.lines.map((l) => [l.line, l.code, l.cause]), p.devices.map((d) => [d.dev, d.state, d.code])]);
}
