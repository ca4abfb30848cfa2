import { EventType, type GatewayEvent } from '@cityedge/contract';
import type { DeviceStats, PollOutcome } from './device-poller.js';

/**
 * The health bookkeeping every polled device shares (a Modbus device, a group of pins on a
 * Firmata board): poll and failure counts, quarantine after `quarantineAfter` failed polls in a
 * row, and the device.offline / device.online events, each reported once per transition.
 */
export class DeviceHealth {
  private offlineReported = false;

  constructor(
    readonly stats: DeviceStats,
    private readonly deviceId: string,
  ) {}

  /**
   * Records a poll; returns device.offline when the device has just been quarantined, and
   * device.online when it answers after that. `error` is the code kept as lastError (failed or
   * partial polls); `offline` describes the outage for the event.
   */
  record(outcome: PollOutcome, error: string | undefined, at: number, quarantineAfter: number, offline: () => { message: string; data: Record<string, unknown> }): GatewayEvent | undefined {
    const s = this.stats;
    s.polls++;
    s.lastPollAt = at;
    if (outcome === 'failed') {
      s.failures++;
      if (s.consecutiveFailures === 0) s.failingSince = at;
      s.consecutiveFailures++;
      s.lastError = error;
      s.quarantined = s.consecutiveFailures >= quarantineAfter;
      if (!s.quarantined || this.offlineReported) return undefined;
      this.offlineReported = true;
      return { type: EventType.deviceOffline, ts: at, severity: 'warning', dev: this.deviceId, ...offline() };
    }
    s.answers++;
    s.consecutiveFailures = 0;
    s.failingSince = undefined;
    s.quarantined = false;
    s.lastError = outcome === 'partial' ? error : undefined;
    if (!this.offlineReported) return undefined;
    this.offlineReported = false;
    return { type: EventType.deviceOnline, ts: at, severity: 'info', dev: this.deviceId, message: `device ${this.deviceId} answers again` };
  }
}
