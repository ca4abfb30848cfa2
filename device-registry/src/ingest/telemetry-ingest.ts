import { Channel, TelemetryMessage } from '@cityedge/contract';
import type { TelemetrySink } from './ports.js';
import { SequencedIngest, type SequencedIngestCounters, type SequencedIngestOptions } from './sequenced-ingest.js';

export interface TelemetryIngestOptions extends SequencedIngestOptions {
  sink: TelemetrySink;
}

export interface TelemetryIngestStats extends SequencedIngestCounters {
  /** Readings in the stored messages. */
  readings: number;
}

/**
 * The central telemetry consumer: `{prefix}/+/telemetry` (shared when a group is set), each
 * TelemetryMessage stored once by (gw, seq) through the TelemetrySink, acknowledged only after
 * the insert committed (see SequencedIngest).
 */
export class TelemetryIngest extends SequencedIngest<TelemetryMessage> {
  private readings = 0;

  constructor(private readonly options: TelemetryIngestOptions) {
    super(options, Channel.telemetry, TelemetryMessage);
  }

  stats(): TelemetryIngestStats {
    return { ...this.counters, readings: this.readings };
  }

  protected async store(msg: TelemetryMessage): Promise<boolean> {
    const fresh = await this.options.sink.insertTelemetryBatch(msg.gw, msg.seq, msg.readings);
    if (fresh) this.readings += msg.readings.length;
    return fresh;
  }
}
