import { compileExpression, type CompiledExpression, type DerivedReadingRule, type Reading } from '@cityedge/contract';
import { pointKey, type Rule, type RuleOutput } from './rule.js';

/**
 * A reading computed by a safe expression from the latest good values of one device's points,
 * once per batch that brought one of them, stamped with that batch's newest time. A bad input
 * makes the derived reading bad (with the input's error), never a stale value.
 */
export class DerivedReading implements Rule {
  readonly stateId: string;
  readonly inputs: readonly string[];
  private readonly expr: CompiledExpression;
  private readonly values = new Map<string, number | boolean>();
  private dirty: { ts: number; err?: string | undefined } | undefined;

  constructor(
    private readonly cfg: DerivedReadingRule,
    private readonly out: RuleOutput,
  ) {
    this.expr = compileExpression(cfg.expr);
    this.stateId = `derived/${cfg.dev}/${cfg.pt}`;
    this.inputs = this.expr.variables.map((v) => pointKey(cfg.dev, v));
  }

  start(): void {}
  stop(): void {}

  onReading(r: Reading): void {
    const ts = Math.max(this.dirty?.ts ?? 0, r.ts);
    if (r.q === 'good' && (typeof r.v === 'number' || typeof r.v === 'boolean')) {
      this.values.set(r.pt, r.v);
      this.dirty = { ts, err: this.dirty?.err };
    } else {
      this.values.delete(r.pt);
      this.dirty = { ts, err: r.err ?? 'EDGE_RULE_INPUT_BAD' };
    }
  }

  endBatch(): void {
    const d = this.dirty;
    if (!d) return;
    this.dirty = undefined;
    const base = { dev: this.cfg.dev, pt: this.cfg.pt, ts: d.ts, ...(this.cfg.unit !== undefined && { u: this.cfg.unit }) };
    if (d.err !== undefined) {
      this.out.reading({ ...base, v: null, q: 'bad', err: d.err });
      return;
    }
    if (this.expr.variables.some((v) => !this.values.has(v))) return;
    const v = this.expr.evaluate(this.values);
    if (typeof v === 'number' && !Number.isFinite(v)) this.out.reading({ ...base, v: null, q: 'bad', err: 'EDGE_RULE_EXPR_NOT_FINITE' });
    else this.out.reading({ ...base, v, q: 'good' });
  }
}
