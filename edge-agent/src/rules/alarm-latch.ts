import type { EventSeverity, GatewayEvent } from '@cityedge/contract';

/** The persisted state of one alarm. */
export interface AlarmSnapshot {
  raised: boolean;
  level?: string | undefined;
  /** When it was raised (ms), for the message of its clear. */
  since?: number | undefined;
  /** A technician acknowledged this occurrence. */
  acked?: boolean | undefined;
}

/**
 * One alarm a rule owns (key like `flood.level/dongha`): emits an event with an explicit alarm
 * transition when it is raised, changes level, or clears, and nothing when told what it already
 * is. The event type is the key's first part (e.g. `flood.level`).
 */
export class AlarmLatch {
  private s: AlarmSnapshot;

  constructor(
    readonly key: string,
    private readonly emit: (e: GatewayEvent) => void,
    snapshot?: AlarmSnapshot,
  ) {
    this.s = snapshot ? { ...snapshot } : { raised: false };
  }

  get raised(): boolean {
    return this.s.raised;
  }
  get level(): string | undefined {
    return this.s.level;
  }
  get acked(): boolean {
    return this.s.acked === true;
  }

  snapshot(): AlarmSnapshot {
    return { ...this.s };
  }

  /** Raises, or moves a raised alarm to another level (a new occurrence is not opened). Returns whether anything changed. */
  raise(ts: number, opts: { level?: string; severity?: EventSeverity; message: string; dev?: string; data?: Record<string, unknown> }): boolean {
    if (this.s.raised && this.s.level === opts.level) return false;
    const fresh = !this.s.raised;
    this.s = { raised: true, level: opts.level, since: fresh ? ts : this.s.since, acked: fresh ? false : this.s.acked };
    this.emit({
      type: this.type,
      ts,
      severity: opts.severity ?? 'alarm',
      ...(opts.dev !== undefined && { dev: opts.dev }),
      message: opts.message,
      ...(opts.data && { data: opts.data }),
      alarm: { key: this.key, state: 'raised', ...(opts.level !== undefined && { level: opts.level }) },
    });
    return true;
  }

  clear(ts: number, opts: { message: string; dev?: string; data?: Record<string, unknown> }): boolean {
    if (!this.s.raised) return false;
    const level = this.s.level;
    const since = this.s.since;
    this.s = { raised: false };
    this.emit({
      type: this.type,
      ts,
      severity: 'info',
      ...(opts.dev !== undefined && { dev: opts.dev }),
      message: opts.message,
      data: { ...(since !== undefined && { raisedAt: since }), ...opts.data },
      alarm: { key: this.key, state: 'cleared', ...(level !== undefined && { level }) },
    });
    return true;
  }

  acknowledge(): void {
    if (this.s.raised) this.s.acked = true;
  }

  private get type(): string {
    return this.key.split('/')[0] ?? this.key;
  }
}
