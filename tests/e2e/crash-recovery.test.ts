import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestBroker } from '@cityedge/test-support';
import { crashCycles } from '../support/crash-cycles.js';

/** Reliability case 1 and 2, short form (the integration suite runs hundreds of cycles). */
describe('agent killed with SIGKILL under load', () => {
  const broker = new TestBroker();
  beforeAll(() => broker.start());
  afterAll(() => broker.stop());

  it('delivers every committed reading exactly once after dedup, with an intact outbox', async () => {
    let up = true;
    const r = await crashCycles({
      brokerUrl: broker.url,
      cycles: 12,
      seed: 42,
      minMs: 300,
      maxMs: 1200,
      // Every third run has no broker, so the outbox holds a backlog when the agent is killed.
      beforeRun: async (cycle, consumer) => {
        const want = cycle % 3 !== 1;
        if (want === up) return;
        up = want;
        if (!want) {
          // Let what the broker already acknowledged reach the consumer before it goes away.
          let seen = -1;
          while (seen !== consumer.arrivals.length) {
            seen = consumer.arrivals.length;
            await new Promise((r) => setTimeout(r, 300));
          }
          return broker.stop();
        }
        const before = consumer.subscriptions;
        await broker.start();
        await consumer.waitFor(() => consumer.subscriptions > before, 10_000, 'the consumer to resubscribe');
      },
    });
    expect(r.committed.size).toBeGreaterThan(0);
    expect(r.missing).toEqual([]);
    expect(r.twice).toBe(0);
    expect(r.gaps).toEqual([]);
    expect(r.integrity.every((x) => x === 'ok')).toBe(true);
  }, 120_000);
});
