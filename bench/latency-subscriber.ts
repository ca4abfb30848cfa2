import mqtt, { type MqttClient } from 'mqtt';
import type { TelemetryMessage } from '@cityedge/contract';
import { percentile } from './proc-stats.js';

export interface LatencySummary {
  readings: number;
  messages: number;
  bad: number;
  p50: number | undefined;
  p90: number | undefined;
  p99: number | undefined;
  max: number | undefined;
  mean: number | undefined;
  seconds: number;
}

/**
 * A central consumer that measures end-to-end latency: for each reading, the time it arrives
 * here minus its sample time (reading.ts, taken by the agent right after the device answered).
 * Only readings that arrive between begin() and end() count.
 */
export class LatencySubscriber {
  private client: MqttClient | undefined;
  private recording = false;
  private latencies: number[] = [];
  private windowStart = 0;
  private windowEnd = 0;
  private inWindow = { readings: 0, messages: 0, bad: 0 };
  /** Readings received since start, window or not. */
  total = 0;

  async start(url: string, topic = 'edge/v1/+/telemetry'): Promise<void> {
    const client = mqtt.connect(url, { clientId: `bench-consumer-${process.pid}`, protocolVersion: 4, reconnectPeriod: 500 });
    this.client = client;
    client.on('error', () => undefined);
    client.on('message', (_topic, payload) => this.onMessage(payload));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the bench consumer could not subscribe at ${url}`)), 10_000);
      client.once('connect', () => {
        client.subscribe(topic, { qos: 1 }, (err) => {
          clearTimeout(timer);
          if (err) reject(err);
          else resolve();
        });
      });
    });
  }

  begin(): void {
    this.latencies = [];
    this.inWindow = { readings: 0, messages: 0, bad: 0 };
    this.windowStart = performance.now();
    this.recording = true;
  }

  end(): LatencySummary {
    this.recording = false;
    this.windowEnd = performance.now();
    const sorted = Float64Array.from(this.latencies).sort();
    const n = sorted.length;
    return {
      ...this.inWindow,
      p50: percentile(sorted, 50),
      p90: percentile(sorted, 90),
      p99: percentile(sorted, 99),
      max: n > 0 ? sorted[n - 1] : undefined,
      mean: n > 0 ? sorted.reduce((a, b) => a + b, 0) / n : undefined,
      seconds: (this.windowEnd - this.windowStart) / 1000,
    };
  }

  async stop(): Promise<void> {
    await this.client?.endAsync(true);
    this.client = undefined;
  }

  private onMessage(payload: Buffer): void {
    const now = Date.now();
    const msg = JSON.parse(payload.toString()) as TelemetryMessage;
    this.total += msg.readings.length;
    if (!this.recording) return;
    this.inWindow.messages++;
    for (const r of msg.readings) {
      this.inWindow.readings++;
      if (r.q !== 'good') this.inWindow.bad++;
      this.latencies.push(now - r.ts);
    }
  }
}
