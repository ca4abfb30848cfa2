import type { Logger } from 'pino';
import { allGateways, Channel, DEFAULT_TOPIC_PREFIX, parseTopic } from '@cityedge/contract';
import type { MqttConnection } from '../broker/mqtt-connection.js';
import { TopicFollower } from './topic-follower.js';
import { ConfigReportSchema, parsePayload, StatusMessageSchema } from './payloads.js';
import type { FleetListener } from './ports.js';

export interface FleetFollowerOptions {
  /** The registry's service account (or a consumer account). */
  connection: MqttConnection;
  listener: FleetListener;
  logger: Logger;
  prefix?: string;
  /** Larger payloads count as malformed (default 64 KiB). */
  maxPayloadBytes?: number;
}

export interface FleetFollowerStats {
  statuses: number;
  reports: number;
  /** Not JSON, wrong shape or too large. */
  malformed: number;
  /** Payload `gw` differs from the topic's gateway id: not trusted. */
  mismatched: number;
  /** Empty payloads (a retained message being cleared). */
  cleared: number;
  listenerErrors: number;
}

/**
 * Follows `{prefix}/+/status` (retained, also the last will) and `{prefix}/+/config/report`,
 * validates each payload and hands it to the FleetListener, one message at a time in arrival
 * order. A message is trusted only when its `gw` equals the gateway id in its topic (the broker
 * lets a gateway publish only under its own id). Bad payloads are counted and logged; nothing
 * here throws.
 */
export class FleetFollower extends TopicFollower {
  private readonly prefix: string;
  private readonly counters: FleetFollowerStats = { statuses: 0, reports: 0, malformed: 0, mismatched: 0, cleared: 0, listenerErrors: 0 };

  constructor(private readonly opts: FleetFollowerOptions) {
    const prefix = opts.prefix ?? DEFAULT_TOPIC_PREFIX;
    super(opts.connection, opts.logger.child({ module: 'fleet-follower' }), 'fleet', [allGateways(Channel.status, prefix), allGateways(Channel.configReport, prefix)]);
    this.prefix = prefix;
  }

  stats(): FleetFollowerStats {
    return { ...this.counters };
  }

  protected async handle(topic: string, payload: Buffer): Promise<void> {
    const t = parseTopic(topic, this.prefix);
    if (!t) return;
    if (payload.length === 0) {
      this.counters.cleared++;
      return;
    }
    const max = this.opts.maxPayloadBytes ?? 64 * 1024;
    try {
      if (t.channel === Channel.status) {
        const r = parsePayload(StatusMessageSchema, payload, max);
        if (!r.ok) return this.malformed(topic, r.problem);
        if (r.value.gw !== t.gatewayId) return this.mismatch(topic, r.value.gw);
        this.counters.statuses++;
        await this.opts.listener.onStatus(t.gatewayId, r.value);
      } else if (t.channel === Channel.configReport) {
        const r = parsePayload(ConfigReportSchema, payload, max);
        if (!r.ok) return this.malformed(topic, r.problem);
        if (r.value.gw !== t.gatewayId) return this.mismatch(topic, r.value.gw);
        this.counters.reports++;
        await this.opts.listener.onReport(r.value);
      }
    } catch (err) {
      this.counters.listenerErrors++;
      this.log.error({ topic, err: (err as Error).message }, 'fleet listener failed');
    }
  }

  private malformed(topic: string, problem: string): void {
    this.counters.malformed++;
    this.log.warn({ topic, problem }, 'malformed fleet message dropped');
  }

  private mismatch(topic: string, payloadGw: string): void {
    this.counters.mismatched++;
    this.log.warn({ topic, payloadGw }, 'fleet message names another gateway than its topic; dropped');
  }
}
