import type { Logger } from 'pino';
import { allGateways, Channel, DEFAULT_TOPIC_PREFIX } from '@cityedge/contract';
import type { MqttConnection } from '../broker/mqtt-connection.js';
import { TopicFollower, type FollowerCounters } from './topic-follower.js';
import { ConfigReport, StatusMessage } from '@cityedge/contract';
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

export interface FleetFollowerStats extends FollowerCounters {
  statuses: number;
  reports: number;
}

/**
 * Follows `{prefix}/+/status` (retained, also the last will) and `{prefix}/+/config/report`,
 * validates each payload and hands it to the FleetListener, one message at a time in arrival
 * order. A message is trusted only when its `gw` equals the gateway id in its topic (the broker
 * lets a gateway publish only under its own id). Bad payloads are counted and logged; nothing
 * here throws.
 */
export class FleetFollower extends TopicFollower {
  private readonly counters = { statuses: 0, reports: 0 };

  constructor(private readonly opts: FleetFollowerOptions) {
    const prefix = opts.prefix ?? DEFAULT_TOPIC_PREFIX;
    super(opts.connection, opts.logger.child({ module: 'fleet-follower' }), 'fleet', prefix, [allGateways(Channel.status, prefix), allGateways(Channel.configReport, prefix)]);
  }

  stats(): FleetFollowerStats {
    return { ...this.counters, ...this.common };
  }

  protected async handle(topic: string, gatewayId: string, channel: string, payload: Buffer): Promise<void> {
    const max = this.opts.maxPayloadBytes ?? 64 * 1024;
    if (channel === Channel.status) {
      const status = this.accept(StatusMessage, payload, max, topic, gatewayId);
      if (!status) return;
      this.counters.statuses++;
      await this.opts.listener.onStatus(gatewayId, status);
    } else if (channel === Channel.configReport) {
      const report = this.accept(ConfigReport, payload, max, topic, gatewayId);
      if (!report) return;
      this.counters.reports++;
      await this.opts.listener.onReport(report);
    }
  }
}
