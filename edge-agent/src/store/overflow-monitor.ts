import { EventType, type GatewayEvent } from '@cityedge/contract';

export interface StreamCounts {
  telemetry: number;
  events: number;
}

export interface Usage {
  rows: number;
  bytes: number;
  maxRows: number;
  maxBytes: number;
}

interface State {
  active: boolean;
  startedAt: number;
  lastEventAt: number;
  /** Dropped since the last buffer.overflow event. */
  unreported: StreamCounts;
  /** Dropped since the episode began. */
  episode: StreamCounts;
}

/** Below this share of both limits an overflow episode is over. */
const RECOVERED_BELOW = 0.9;

/**
 * Decides when the outbox raises `buffer.overflow` (when dropping starts, then at most once per
 * interval while it goes on, each with exact counts) and `buffer.recovered` (when usage falls
 * back below 90% of both limits). Its state is snapshotted and restored around a transaction so a
 * rolled-back commit reports nothing.
 */
export class OverflowMonitor {
  private state: State = idle();

  constructor(
    private readonly opts: {
      intervalMs: number;
      policy: 'drop-oldest' | 'drop-newest';
      now: () => number;
    },
  ) {}

  get active(): boolean {
    return this.state.active;
  }

  snapshot(): State {
    const s = this.state;
    return { ...s, unreported: { ...s.unreported }, episode: { ...s.episode } };
  }

  restore(snapshot: State): void {
    this.state = snapshot;
  }

  /** Drops caused by placing the notice itself: reported with the next notice. */
  carry(drops: StreamCounts): void {
    if (!this.state.active) return;
    this.state.unreported.telemetry += drops.telemetry;
    this.state.unreported.events += drops.events;
    this.state.episode.telemetry += drops.telemetry;
    this.state.episode.events += drops.events;
  }

  /** Called inside each commit with what the policy dropped in it; returns an event to append, if due. */
  afterCommit(drops: StreamCounts, usage: Usage, totals: StreamCounts): GatewayEvent | undefined {
    const s = this.state;
    const now = this.opts.now();
    if (drops.telemetry > 0 || drops.events > 0) {
      s.unreported.telemetry += drops.telemetry;
      s.unreported.events += drops.events;
      s.episode.telemetry += drops.telemetry;
      s.episode.events += drops.events;
      if (s.active && now - s.lastEventAt < this.opts.intervalMs) return undefined;
      if (!s.active) s.startedAt = now;
      s.active = true;
      s.lastEventAt = now;
      const reported = s.unreported;
      s.unreported = { telemetry: 0, events: 0 };
      return {
        type: EventType.bufferOverflow,
        ts: now,
        severity: 'alarm',
        message: `outbox full: dropped ${reported.telemetry} readings and ${reported.events} events (${this.opts.policy})`,
        data: {
          policy: this.opts.policy,
          droppedTelemetry: reported.telemetry,
          droppedEvents: reported.events,
          episodeDroppedTelemetry: s.episode.telemetry,
          episodeDroppedEvents: s.episode.events,
          totalDroppedTelemetry: totals.telemetry,
          totalDroppedEvents: totals.events,
          backlogRows: usage.rows,
          backlogBytes: usage.bytes,
          maxRows: usage.maxRows,
          maxBytes: usage.maxBytes,
        },
      };
    }
    if (s.active && usage.rows < usage.maxRows * RECOVERED_BELOW && usage.bytes < usage.maxBytes * RECOVERED_BELOW) {
      const episode = s.episode;
      const startedAt = s.startedAt;
      this.state = idle();
      return {
        type: EventType.bufferRecovered,
        ts: now,
        severity: 'info',
        message: `outbox has space again; the overflow dropped ${episode.telemetry} readings and ${episode.events} events`,
        data: {
          droppedTelemetry: episode.telemetry,
          droppedEvents: episode.events,
          since: startedAt,
          durationMs: now - startedAt,
          backlogRows: usage.rows,
          backlogBytes: usage.bytes,
        },
      };
    }
    return undefined;
  }
}

function idle(): State {
  return { active: false, startedAt: 0, lastEventAt: 0, unreported: { telemetry: 0, events: 0 }, episode: { telemetry: 0, events: 0 } };
}
