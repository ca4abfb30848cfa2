import type { GatewayEvent } from '@cityedge/contract';
import { AlarmLatch, type AlarmSnapshot } from './alarm-latch.js';
import type { RuleContext } from './rule-context.js';

const STATE_ID = 'engine/output-faults';

/**
 * Every write a rule makes goes through here: per point, one write in flight at a time and only
 * the latest wanted value queued behind it (a siren pulsing against a slow bus never builds a
 * backlog); a failed write raises `output.fault/<dev>/<pt>` (cleared by the next success) and is
 * reported to the caller so it can try again.
 */
export class OutputWriter {
  private readonly points = new Map<string, { busy: boolean; queued?: { value: number | boolean; done: (ok: boolean) => void } }>();
  private readonly faults = new Map<string, AlarmLatch>();

  constructor(
    private readonly ctx: RuleContext,
    private readonly emit: (e: GatewayEvent) => void,
  ) {
    const saved = ctx.store.get<Record<string, AlarmSnapshot>>(STATE_ID) ?? {};
    for (const [key, snap] of Object.entries(saved)) this.faults.set(key, new AlarmLatch(key, emit, snap));
  }

  /** Writes value; resolves true when written, false when the write failed (already reported). Never rejects. */
  write(dev: string, pt: string, value: number | boolean): Promise<boolean> {
    const id = `${dev}/${pt}`;
    let p = this.points.get(id);
    if (!p) this.points.set(id, (p = { busy: false }));
    const slot = p;
    return new Promise<boolean>((resolve) => {
      if (slot.busy) {
        slot.queued?.done(false);
        slot.queued = { value, done: resolve };
        return;
      }
      this.run(dev, pt, slot, value, resolve);
    });
  }

  private run(dev: string, pt: string, slot: { busy: boolean; queued?: { value: number | boolean; done: (ok: boolean) => void } }, value: number | boolean, done: (ok: boolean) => void): void {
    slot.busy = true;
    this.ctx.write(dev, pt, value).then(
      () => {
        if (this.latch(dev, pt).clear(this.ctx.clock.now(), { dev, message: `${dev}.${pt} written again` })) this.save();
        this.finish(dev, pt, slot, done, true);
      },
      (err: unknown) => {
        const code = (err as { code?: string }).code ?? 'EDGE_RULE_WRITE_FAILED';
        this.ctx.logger.warn({ err, dev, pt, value }, 'rule output write failed');
        const raised = this.latch(dev, pt).raise(this.ctx.clock.now(), { severity: 'warning', dev, level: code.slice(0, 32), message: `cannot write ${dev}.${pt}: ${(err as Error).message}`, data: { pt, value, code } });
        if (raised) this.save();
        this.finish(dev, pt, slot, done, false);
      },
    );
  }

  private finish(dev: string, pt: string, slot: { busy: boolean; queued?: { value: number | boolean; done: (ok: boolean) => void } }, done: (ok: boolean) => void, ok: boolean): void {
    slot.busy = false;
    done(ok);
    const next = slot.queued;
    if (next) {
      slot.queued = undefined;
      this.run(dev, pt, slot, next.value, next.done);
    }
  }

  private latch(dev: string, pt: string): AlarmLatch {
    const key = `output.fault/${dev}/${pt}`;
    let l = this.faults.get(key);
    if (!l) this.faults.set(key, (l = new AlarmLatch(key, this.emit)));
    return l;
  }

  private save(): void {
    const doc: Record<string, AlarmSnapshot> = {};
    for (const [k, l] of this.faults) if (l.raised) doc[k] = l.snapshot();
    this.ctx.store.set(STATE_ID, doc);
  }
}
