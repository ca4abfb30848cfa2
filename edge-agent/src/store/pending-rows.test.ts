import { describe, expect, it } from 'vitest';
import { PendingRows } from './pending-rows.js';

const reading = (v: number) => JSON.stringify({ dev: 'd', pt: 'p', ts: v, v, q: 'good' });
const event = (type: string) => {
  const json = JSON.stringify({ type, ts: 0, severity: 'alarm', message: type });
  return { json, bytes: Buffer.byteLength(json) };
};
const values = (p: PendingRows) => p.readings.json.map((j) => (JSON.parse(j) as { v: number }).v);

function filled(readings: number, events: string[] = []): PendingRows {
  const p = new PendingRows();
  for (let v = 0; v < readings; v++) p.addReading(reading(v));
  for (const e of events) p.addEvent(event(e));
  return p;
}

describe('PendingRows: what waits in memory while the outbox file cannot be written', () => {
  it('drop-oldest: drops the oldest readings down to the cap, keeps every event, counts exactly', () => {
    const p = filled(100, ['flood.alarm']);
    const cap = p.bytes - 10 * Buffer.byteLength(reading(50));
    const d = p.cap(cap, 'drop-oldest');
    expect(d.events).toBe(0);
    expect(p.bytes).toBeLessThanOrEqual(cap);
    expect(d.telemetry).toBe(100 - p.readings.json.length);
    expect(values(p)).toEqual(Array.from({ length: p.readings.json.length }, (_, i) => 100 - p.readings.json.length + i));
    expect(p.events.map((e) => JSON.parse(e.json).type)).toEqual(['flood.alarm']);
    expect(p.readings.sum).toBe(p.readings.bytes.reduce((a, b) => a + b, 0));
  });

  it('drop-newest: keeps the oldest readings', () => {
    const p = filled(100);
    const d = p.cap(p.bytes / 2, 'drop-newest');
    expect(values(p)).toEqual(Array.from({ length: 100 - d.telemetry }, (_, i) => i));
  });

  it('drops events only when no reading is left, the oldest first', () => {
    const p = filled(3, ['a', 'b', 'c']);
    const d = p.cap(event('c').bytes + 1, 'drop-oldest');
    expect(d).toEqual({ telemetry: 3, events: 2 });
    expect(p.events.map((e) => JSON.parse(e.json).type)).toEqual(['c']);
    expect(p.rows).toBe(1);
  });

  it('hands out the oldest rows that fit a budget, events first, and forgets them once committed', () => {
    const p = filled(10, ['a']);
    const perRow = (rows: number, bytes: number) => bytes + rows;
    const eventCost = event('a').bytes + 1;
    const three = 3 * (Buffer.byteLength(reading(0)) + 1);
    const part = p.fitting(eventCost + three, perRow);
    expect(part.all).toBe(false);
    expect(part.events).toHaveLength(1);
    expect(part.readings.json.map((j) => JSON.parse(j).v)).toEqual([0, 1, 2]);
    p.remove(part);
    expect(p.events).toHaveLength(0);
    expect(values(p)).toEqual([3, 4, 5, 6, 7, 8, 9]);
    expect(p.fitting(Number.POSITIVE_INFINITY, perRow).all).toBe(true);
    expect(p.fitting(0, perRow)).toMatchObject({ all: false, events: [], readings: { json: [] } });
  });
});
