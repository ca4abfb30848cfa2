import type { HealthSnapshot } from '../config/config-manager.js';
import type { Health } from '../http/status-server.js';
import type { MqttSessionStats } from '../mqtt/mqtt-session.js';
import type { LineStats } from '../poll/line-scheduler.js';
import { runtimeProblems } from '../poll/runtime-problems.js';
import type { OutboxStats } from '../store/outbox.js';
import type { CameraProberStats } from '../camera/camera-prober.js';

/** Devices that fail, never answered or are quarantined: the same count as the problems the registry is told. */
export function devicesFailing(lines: readonly LineStats[]): number {
  return runtimeProblems([...lines]).devices.length;
}

/** What the OTA health check compares before and after a configuration is applied. */
export function healthSnapshot(lines: readonly LineStats[], brokerConnected: boolean): HealthSnapshot {
  let answering = 0;
  const linesOpen: string[] = [];
  const linesUnopenable: string[] = [];
  const linesStarting: string[] = [];
  for (const st of lines) {
    if (st.connected) linesOpen.push(st.id);
    if (st.starting === true) linesStarting.push(st.id);
    if (st.openError) linesUnopenable.push(st.id);
    for (const d of st.devices) if (d.polls > 0 && d.consecutiveFailures === 0) answering++;
  }
  return { brokerConnected, devicesAnswering: answering, linesOpen, linesUnopenable, linesStarting };
}

/** `/healthz`: ok, degraded (something to look at) or failing (not running, or the outbox cannot write). */
export function agentHealth(s: { running: boolean; outbox: OutboxStats; session: MqttSessionStats; lines: readonly LineStats[]; cameras: CameraProberStats | undefined }): Health {
  const failing = devicesFailing(s.lines);
  const devices = s.lines.reduce((n, l) => n + l.devices.length, 0);
  const checks: Health['checks'] = {
    outbox: { ok: s.running && !s.outbox.storageFailing, detail: `${s.outbox.backlogRows} rows waiting, ${s.outbox.storageErrors} storage errors` },
    broker: { ok: s.session.connected, detail: s.session.connected ? 'connected' : `disconnected${s.session.lastError ? `: ${s.session.lastError}` : ''}` },
    devices: { ok: failing === 0, detail: `${devices - failing} of ${devices} answering` },
  };
  // Informational: one dark camera must not make the gateway unhealthy (or roll back a config).
  if (s.cameras) checks.cameras = { ok: true, detail: Object.entries(s.cameras.byState).filter(([, n]) => n > 0).map(([state, n]) => `${n} ${state}`).join(', ') || 'none probed yet' };
  const status = !s.running ? 'failing' : Object.values(checks).every((c) => c.ok) ? 'ok' : 'degraded';
  return { status, checks };
}
