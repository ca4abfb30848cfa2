import { isValidGatewayId, type ConfigReport, type ConfigReportState, type StatusMessage } from '@cityedge/contract';
import type { RegistryStore } from '../db/store.js';
import { RuntimeProblems } from '@cityedge/contract';
import type { ConfigService } from './config-service.js';
import type { ServiceDeps } from './context.js';
import type { RolloutService } from './rollout-service.js';

const REPORT_STATES: ReadonlySet<string> = new Set<ConfigReportState>(['delivered', 'applied', 'committed', 'rejected', 'rolled_back']);

const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const optional = <T>(v: unknown, check: (x: unknown) => x is T): boolean => v === undefined || check(v);
const isShortString = (v: unknown): v is string => typeof v === 'string' && v.length <= 200;

/** Checks a status payload from the wire; anything else is ignored, never thrown. */
export function parseStatus(raw: unknown): StatusMessage | undefined {
  if (!isObj(raw) || raw.v !== 1 || typeof raw.gw !== 'string' || (raw.state !== 'online' && raw.state !== 'offline') || !isCount(raw.ts)) return undefined;
  if (!optional(raw.agentVersion, isShortString) || !optional(raw.configVersion, isCount) || !optional(raw.backlog, isCount) || !optional(raw.devicesFailing, isCount) || !optional(raw.startedAt, isCount)) return undefined;
  return raw as unknown as StatusMessage;
}

/** Checks a config report payload from the wire. */
export function parseReport(raw: unknown): ConfigReport | undefined {
  if (!isObj(raw) || raw.v !== 1 || typeof raw.gw !== 'string' || !isCount(raw.version) || raw.version < 1 || typeof raw.state !== 'string' || !REPORT_STATES.has(raw.state)) return undefined;
  if (!isCount(raw.ts) || !isCount(raw.running) || !optional(raw.reason, (x): x is string => typeof x === 'string' && x.length <= 2000)) return undefined;
  if (raw.problems !== undefined && !RuntimeProblems.safeParse(raw.problems).success) return undefined;
  return raw as unknown as ConfigReport;
}

/**
 * What gateways tell the registry through the broker: status (retained, and the last will) and
 * config reports. The broker module's follower calls these with the gateway id from the topic;
 * a payload naming another gateway, a malformed one or an unknown gateway is ignored (false).
 */
export class FleetService {
  constructor(
    private readonly store: RegistryStore,
    private readonly deps: ServiceDeps,
    private readonly configs: ConfigService,
    private readonly rollouts: RolloutService,
  ) {}

  /** The broker module's FleetListener: a status from `{prefix}/{gatewayId}/status`. */
  async onStatus(gatewayId: string, status: StatusMessage | unknown): Promise<void> {
    await this.applyStatus(gatewayId, status);
  }

  /** The broker module's FleetListener: a report from `{prefix}/{report.gw}/config/report`. */
  async onReport(report: ConfigReport | unknown, topicGatewayId?: string): Promise<void> {
    await this.applyReport(report, topicGatewayId);
  }

  /** Updates the gateway's status; false when the payload was ignored (malformed, another gateway's, unknown gateway). */
  async applyStatus(gatewayId: string, raw: StatusMessage | unknown): Promise<boolean> {
    const s = parseStatus(raw);
    const log = this.deps.logger;
    if (!s || s.gw !== gatewayId || !isValidGatewayId(gatewayId)) {
      log.warn({ gatewayId }, 'ignored a malformed status or one naming another gateway');
      return false;
    }
    const updated = await this.store.gateways.setStatus(gatewayId, {
      state: s.state,
      now: this.deps.clock.now(),
      online: s.state === 'online',
      ...(s.agentVersion !== undefined && { agentVersion: s.agentVersion }),
      ...(s.configVersion !== undefined && { configVersion: s.configVersion }),
      ...(s.backlog !== undefined && { backlog: s.backlog }),
      ...(s.devicesFailing !== undefined && { devicesFailing: s.devicesFailing }),
    });
    if (!updated) log.debug({ gatewayId }, 'status from a gateway the registry does not know');
    else await this.publishStatus(gatewayId);
    return updated;
  }

  /** The gateway's status to the event streams (`gateway.status`), when someone follows it. */
  async publishStatus(gatewayId: string): Promise<void> {
    if (!this.deps.hub.wants('status', gatewayId)) return;
    const g = await this.store.gateways.get(gatewayId);
    if (!g) return;
    const s = g.status;
    this.deps.hub.publish('status', gatewayId, { gatewayId, status: s.state, since: s.since, lastSeen: s.lastSeen, agentVersion: s.agentVersion, configVersionRunning: s.configVersionRunning, backlog: s.backlog, devicesFailing: s.devicesFailing });
  }

  /**
   * Records a config report and moves rollouts on; true when it changed something. With
   * `topicGatewayId` (the gateway id of the topic it came on) the report must name the same one.
   */
  async applyReport(raw: ConfigReport | unknown, topicGatewayId?: string): Promise<boolean> {
    const r = parseReport(raw);
    if (!r || (topicGatewayId !== undefined && r.gw !== topicGatewayId)) {
      this.deps.logger.warn({ gatewayId: topicGatewayId }, 'ignored a malformed config report or one naming another gateway');
      return false;
    }
    const state = await this.configs.recordReport(r);
    if (state === undefined) return false;
    this.deps.hub.publish('config', r.gw, { gatewayId: r.gw, version: r.version, state, running: r.running, ts: r.ts, ...(r.reason !== undefined && { reason: r.reason }), ...(r.problems !== undefined && { problems: r.problems }) });
    await this.rollouts.onConfigReport(r.gw, r.version, state, r.reason ?? null);
    await this.publishStatus(r.gw);
    return true;
  }
}
