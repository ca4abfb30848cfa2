import type { Reading } from '@cityedge/contract';
import type { Clock } from '../clock.js';
import type { RegistryStore } from '../db/store.js';
import type { TelemetrySink } from '../ingest/ports.js';
import type { EventHub } from './event-hub.js';

/** A `readings` stream event: one device's readings of one ingested message. */
export interface ReadingsEvent {
  gatewayId: string;
  deviceId: string;
  readings: Array<{ point: string; value: Reading['v']; unit: string | null; quality: Reading['q']; ts: number }>;
}

/** Groups a message's readings by device, in order. */
export function readingsEvents(gatewayId: string, readings: readonly Reading[]): ReadingsEvent[] {
  const byDevice = new Map<string, ReadingsEvent>();
  for (const r of readings) {
    let e = byDevice.get(r.dev);
    if (!e) byDevice.set(r.dev, (e = { gatewayId, deviceId: r.dev, readings: [] }));
    e.readings.push({ point: r.pt, value: r.v, unit: r.u ?? null, quality: r.q, ts: r.ts });
  }
  return [...byDevice.values()];
}

/**
 * The telemetry ingest's sink: stores a message (idempotently), then, once committed and only
 * when a stream follows that gateway, hands its readings to the hub grouped by device.
 */
export class TelemetryFeed implements TelemetrySink {
  constructor(
    private readonly store: RegistryStore,
    private readonly hub: EventHub,
    private readonly clock: Clock,
  ) {}

  async insertTelemetryBatch(gatewayId: string, seq: number, readings: readonly Reading[]): Promise<boolean> {
    const stored = await this.store.telemetry.insertTelemetryBatch(gatewayId, seq, readings, this.clock.now());
    if (stored && this.hub.wants('readings', gatewayId)) for (const e of readingsEvents(gatewayId, readings)) this.hub.publish('readings', gatewayId, e);
    return stored;
  }
}
