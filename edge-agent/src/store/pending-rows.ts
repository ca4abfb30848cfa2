import type { Encoded, PendingReadings, TelemetryOverflow } from './capacity-policy.js';
import type { StreamCounts } from './overflow-monitor.js';

/** What part of the pending rows goes into one commit. */
export interface PendingPart {
  events: Encoded[];
  readings: PendingReadings;
  /** True when this is everything pending. */
  all: boolean;
}

/**
 * Rows accepted and not committed yet: readings wait at most one commit interval, unless the file
 * cannot be written, when they wait here (bounded by {@link cap}) until it can.
 */
export class PendingRows {
  readings: PendingReadings = { json: [], bytes: [], sum: 0 };
  events: Encoded[] = [];
  private eventBytes = 0;

  get rows(): number {
    return this.readings.json.length + this.events.length;
  }

  get bytes(): number {
    return this.readings.sum + this.eventBytes;
  }

  addReading(json: string): void {
    const bytes = Buffer.byteLength(json);
    this.readings.json.push(json);
    this.readings.bytes.push(bytes);
    this.readings.sum += bytes;
  }

  addEvent(e: Encoded): void {
    this.events.push(e);
    this.eventBytes += e.bytes;
  }

  /**
   * Drops rows until at most `maxBytes` of JSON are held, with the store's policy: readings first
   * (the oldest under drop-oldest, the newest under drop-newest), then the oldest events.
   */
  cap(maxBytes: number, policy: TelemetryOverflow): StreamCounts {
    const dropped = { telemetry: 0, events: 0 };
    let over = this.bytes - maxBytes;
    if (over <= 0) return dropped;
    const r = this.readings;
    let n = 0;
    let freed = 0;
    if (policy === 'drop-newest') {
      for (let i = r.json.length - 1; i >= 0 && freed < over; i--, n++) freed += r.bytes[i] as number;
      r.json.length -= n;
      r.bytes.length -= n;
    } else {
      for (let i = 0; i < r.json.length && freed < over; i++, n++) freed += r.bytes[i] as number;
      r.json.splice(0, n);
      r.bytes.splice(0, n);
    }
    r.sum -= freed;
    dropped.telemetry = n;
    over -= freed;
    let e = 0;
    for (; e < this.events.length && over > 0; e++) {
      const bytes = (this.events[e] as Encoded).bytes;
      over -= bytes;
      this.eventBytes -= bytes;
    }
    this.events.splice(0, e);
    dropped.events = e;
    return dropped;
  }

  /** Everything pending. */
  whole(): PendingPart {
    return { events: this.events, readings: this.readings, all: true };
  }

  /** The oldest rows whose cost fits in `budget`: events first, then readings, each oldest first. */
  fitting(budget: number, cost: (rows: number, bytes: number) => number): PendingPart {
    let rows = 0;
    let bytes = 0;
    let e = 0;
    for (; e < this.events.length; e++) {
      const b = (this.events[e] as Encoded).bytes;
      if (cost(rows + 1, bytes + b) > budget) break;
      rows++;
      bytes += b;
    }
    let k = 0;
    let sum = 0;
    const r = this.readings;
    if (e === this.events.length) {
      for (; k < r.json.length; k++) {
        const b = r.bytes[k] as number;
        if (cost(rows + 1, bytes + b) > budget) break;
        rows++;
        bytes += b;
        sum += b;
      }
    }
    if (e === this.events.length && k === r.json.length) return this.whole();
    return { events: this.events.slice(0, e), readings: { json: r.json.slice(0, k), bytes: r.bytes.slice(0, k), sum }, all: false };
  }

  /** Forgets a committed part. */
  remove(part: PendingPart): void {
    if (part.all) {
      this.clear();
      return;
    }
    const n = part.readings.json.length;
    this.readings.json.splice(0, n);
    this.readings.bytes.splice(0, n);
    this.readings.sum -= part.readings.sum;
    for (const e of this.events.splice(0, part.events.length)) this.eventBytes -= e.bytes;
  }

  clear(): void {
    this.readings = { json: [], bytes: [], sum: 0 };
    this.events = [];
    this.eventBytes = 0;
  }
}
