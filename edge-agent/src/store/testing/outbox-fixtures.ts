import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import type { EventsMessage, GatewayEvent, Reading, TelemetryMessage } from '@cityedge/contract';
import { Outbox, type OutboxOptions } from '../outbox.js';

/** Outboxes in a fresh temp directory per test: `make()` opens one, `cleanup()` closes them all and removes the directory. */
export class OutboxFixture {
  dir = '';
  private readonly open: Outbox[] = [];

  setup(): void {
    this.dir = mkdtempSync(join(tmpdir(), 'outbox-test-'));
  }

  cleanup(): void {
    for (const o of this.open.splice(0)) o.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  get path(): string {
    return join(this.dir, 'outbox.db');
  }

  make(overrides: Partial<OutboxOptions> = {}): Outbox {
    const outbox = new Outbox({
      path: this.path,
      gatewayId: 'gw-1',
      maxRows: 1_000_000,
      maxBytes: 1_000_000_000,
      telemetryOverflow: 'drop-oldest',
      commitIntervalMs: 5,
      logger: pino({ level: 'silent' }),
      ...overrides,
    });
    outbox.start();
    this.open.push(outbox);
    return outbox;
  }

  close(outbox: Outbox): void {
    outbox.stop();
    this.open.splice(this.open.indexOf(outbox), 1);
  }
}

export const reading = (v: number, extra: Partial<Reading> = {}): Reading => ({ dev: 'pump-1', pt: 'level', ts: 1_700_000_000_000 + v, v, q: 'good', u: 'm', ...extra });
export const readings = (from: number, n: number): Reading[] => Array.from({ length: n }, (_, i) => reading(from + i));
export const event = (type: string, severity: GatewayEvent['severity'] = 'alarm'): GatewayEvent => ({ type, ts: 1_700_000_000_000, severity, message: type });

export type Message = TelemetryMessage | EventsMessage;

/** Takes and acks everything, returning the messages in seq order. */
export function drain(outbox: Outbox): Message[] {
  const out: Message[] = [];
  for (const b of outbox.inflight()) out.push(JSON.parse(b.payload) as Message);
  for (const b of outbox.inflight()) outbox.ack(b.seq);
  for (;;) {
    const batches = outbox.takeBatches(100, 1000);
    if (batches.length === 0) break;
    for (const b of batches) {
      out.push(JSON.parse(b.payload) as Message);
      outbox.ack(b.seq);
    }
  }
  outbox.flush();
  return out.sort((a, b) => a.seq - b.seq);
}

export const values = (msgs: Message[]): number[] => msgs.flatMap((m) => ('readings' in m ? m.readings.map((r) => r.v as number) : []));
export const eventsOf = (msgs: Message[]): GatewayEvent[] => msgs.flatMap((m) => ('events' in m ? m.events : []));
export const eventTypes = (msgs: Message[]): string[] => eventsOf(msgs).map((e) => e.type);
export const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Waits (up to 10 s) until `check` holds. */
export async function until(what: string, check: () => boolean): Promise<void> {
  for (let i = 0; i < 2000 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
  if (!check()) throw new Error(`never happened: ${what}`);
}
