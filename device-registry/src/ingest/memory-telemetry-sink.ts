import type { Reading } from '@cityedge/contract';
import type { TelemetrySink } from './ports.js';

/** A TelemetrySink in memory, for tests and the demo: dedup by (gateway, seq) like the real one. */
export class MemoryTelemetrySink implements TelemetrySink {
  readonly batches = new Map<string, { gatewayId: string; seq: number; readings: readonly Reading[] }>();
  /** Set to make the next inserts fail (storage down) or hang. */
  failWith: Error | undefined;
  hold: Promise<void> | undefined;
  inserts = 0;

  async insertTelemetryBatch(gatewayId: string, seq: number, readings: readonly Reading[]): Promise<boolean> {
    this.inserts++;
    if (this.hold) await this.hold;
    if (this.failWith) throw this.failWith;
    const key = `${gatewayId}\u0000${seq}`;
    if (this.batches.has(key)) return false;
    this.batches.set(key, { gatewayId, seq, readings });
    return true;
  }

  readings(gatewayId?: string): Reading[] {
    return [...this.batches.values()].filter((b) => !gatewayId || b.gatewayId === gatewayId).flatMap((b) => b.readings);
  }
}
