/** What a stream client may subscribe to (`?topics=`). */
export const STREAM_TOPICS = ['status', 'readings', 'alarms', 'config', 'commands', 'cameras', 'rollouts'] as const;
export type StreamTopic = (typeof STREAM_TOPICS)[number];

/** The SSE event name of each topic. */
export const STREAM_EVENTS: Record<StreamTopic, string> = {
  status: 'gateway.status',
  readings: 'readings',
  alarms: 'alarm',
  config: 'config.report',
  commands: 'command.result',
  cameras: 'camera.status',
  rollouts: 'rollout',
};

export interface HubSubscription {
  /** Only this gateway's events (and fleet-wide ones such as rollouts); undefined: every gateway, but no readings. */
  gatewayId: string | undefined;
  topics: ReadonlySet<StreamTopic>;
  /** Receives the event as a ready SSE frame (`event:` and `data:` lines), shared by every subscriber. */
  deliver(frame: string, topic: StreamTopic): void;
}

/**
 * The registry's in-process fan-out of live changes (gateway status, readings, alarms, config
 * reports, command results, camera states, rollouts) to the console's event streams. Services
 * publish after their transaction committed; each event is serialised once, whatever the number
 * of subscribers, and only when someone wants it (`wants`, so callers skip the work of building
 * it). Readings go only to subscribers of that gateway.
 */
export class EventHub {
  private readonly subs = new Set<HubSubscription>();
  /** Counts per topic of subscribers, for a cheap `wants`. */
  private readonly byTopic = new Map<StreamTopic, number>();
  private readonly readingsByGateway = new Map<string, number>();

  subscribe(s: HubSubscription): () => void {
    this.subs.add(s);
    for (const t of s.topics) this.byTopic.set(t, (this.byTopic.get(t) ?? 0) + 1);
    if (s.topics.has('readings') && s.gatewayId !== undefined) this.readingsByGateway.set(s.gatewayId, (this.readingsByGateway.get(s.gatewayId) ?? 0) + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.subs.delete(s);
      for (const t of s.topics) this.byTopic.set(t, (this.byTopic.get(t) ?? 1) - 1);
      if (s.topics.has('readings') && s.gatewayId !== undefined) {
        const n = (this.readingsByGateway.get(s.gatewayId) ?? 1) - 1;
        if (n > 0) this.readingsByGateway.set(s.gatewayId, n);
        else this.readingsByGateway.delete(s.gatewayId);
      }
    };
  }

  get size(): number {
    return this.subs.size;
  }

  /** True when some subscriber would receive this topic of this gateway. */
  wants(topic: StreamTopic, gatewayId?: string): boolean {
    if (topic === 'readings') return gatewayId !== undefined && this.readingsByGateway.has(gatewayId);
    return (this.byTopic.get(topic) ?? 0) > 0;
  }

  /** Delivers to every matching subscriber; `gatewayId` null for fleet-wide events. Never throws. */
  publish(topic: StreamTopic, gatewayId: string | null, data: unknown): void {
    if (!this.wants(topic, gatewayId ?? undefined)) return;
    let frame: string | undefined;
    for (const s of this.subs) {
      if (!s.topics.has(topic)) continue;
      if (topic === 'readings' ? s.gatewayId !== gatewayId : gatewayId !== null && s.gatewayId !== undefined && s.gatewayId !== gatewayId) continue;
      frame ??= `event: ${STREAM_EVENTS[topic]}\ndata: ${JSON.stringify(data)}\n\n`;
      try {
        s.deliver(frame, topic);
      } catch {
        // A subscriber's failure (a socket gone) is its own: the stream cleans up on close.
      }
    }
  }
}
