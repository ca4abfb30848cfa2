import { signConfig, type ConfigReport, type SignedConfig } from '@cityedge/contract';
import type { Repos, RegistryStore } from '../db/store.js';
import { notFound, RegistryError, type ProblemItem } from '../errors.js';
import type { ConfigSource, ConfigState, ConfigVersion, ConfigVersionSummary } from '../repos/configs-repo.js';
import type { SigningKey } from '../security/signing-key.js';
import type { ConfigComposer, ConfigDocument } from './config-composer.js';
import { actorLabel, type CallContext, type ServiceDeps } from './context.js';
import type { ConfigPublisher } from './ports.js';
import type { Gateway } from '../repos/gateways-repo.js';

/** Where a new version's document comes from. */
export type ConfigSourceSpec = { kind: 'composed' } | { kind: 'document'; document: ConfigDocument } | { kind: 'rollback'; fromVersion: number };

/**
 * Whether the gateway can take a version now, for the technician who issued it: a gateway that
 * never connected (not enrolled, or enrolled and never online) will not report anything until it
 * does, however long one watches.
 */
export interface Delivery {
  gateway: 'never-connected' | 'offline' | 'online';
  message: string;
}

/** A version just issued, with how its delivery stands. */
export type IssuedConfig = ConfigVersionSummary & { delivery: Delivery };

export function deliveryOf(gw: Gateway, version: number): Delivery {
  if (gw.status.lastSeen === null) {
    return {
      gateway: 'never-connected',
      message:
        gw.enrolledAt === null
          ? `gateway ${gw.id} has never connected (not enrolled yet): it gets v${version} when it is enrolled and connects`
          : `gateway ${gw.id} was enrolled but has never connected to the broker: it gets v${version} when it connects`,
    };
  }
  if (gw.status.state !== 'online') return { gateway: 'offline', message: `gateway ${gw.id} is offline: it gets v${version} when it reconnects (the configuration waits on the broker)` };
  return { gateway: 'online', message: `gateway ${gw.id} is online` };
}

export interface IssueOptions {
  note?: string;
  rolloutId?: string;
}

/** A report only moves a version forward: delivered < applied < committed | rejected | rolled_back. */
export const STATE_RANK: Record<ConfigState, number> = { pending: 0, delivered: 1, applied: 2, committed: 3, rejected: 3, rolled_back: 3 };

/**
 * Configuration versions: compose (or take) a document, validate it with the agent's schema,
 * give it the gateway's next version (never reused), sign it, store it, then publish it.
 * A rollback re-issues an earlier document as a new, higher version.
 */
export class ConfigService {
  constructor(
    private readonly store: RegistryStore,
    private readonly deps: ServiceDeps,
    private readonly composer: ConfigComposer,
    private readonly signingKey: SigningKey,
    private readonly publisher: ConfigPublisher,
  ) {}

  /** The document the gateway's records give today, and its problems; nothing is stored. */
  async preview(gatewayId: string): Promise<{ document: ConfigDocument; problems: ProblemItem[] }> {
    const document = await this.composeFrom(this.store, gatewayId);
    return { document, problems: this.composer.validate(document) };
  }

  /** Checks that a new version could be issued, without issuing it (rollout pre-flight). */
  async check(gatewayId: string, source: ConfigSourceSpec): Promise<ProblemItem[]> {
    const { document } = await this.documentFor(this.store, gatewayId, source);
    return this.composer.validate({ ...document, version: 1 });
  }

  async issue(gatewayId: string, source: ConfigSourceSpec, ctx: CallContext, opts: IssueOptions = {}): Promise<IssuedConfig> {
    const { version, signed, summary, gateway } = await this.store.transaction(async (tx) => {
      const { document, basedOn } = await this.documentFor(tx, gatewayId, source);
      const fieldPrefix = source.kind === 'document' ? 'body.document' : 'config';
      const problems = this.composer.validate({ ...document, version: 1 }).map((p) => ({ path: `${fieldPrefix}.${p.path}`, message: p.message }));
      if (problems.length > 0) {
        throw new RegistryError('REG_CONFIG_INVALID', `the configuration for gateway "${gatewayId}" has ${problems.length} problem(s): ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`, {
          field: problems[0]!.path,
          problems,
        });
      }
      const version = await tx.gateways.nextConfigVersion(gatewayId);
      const now = this.deps.clock.now();
      const config = { ...document, version };
      const signed = signConfig({ gatewayId, version, config, issuedAt: now }, this.signingKey.privateKeyPem);
      const summary: ConfigVersionSummary = {
        gatewayId,
        version,
        source: source.kind as ConfigSource,
        basedOn,
        rolloutId: opts.rolloutId ?? null,
        note: opts.note ?? null,
        createdBy: actorLabel(ctx),
        createdAt: now,
        state: 'pending',
        reason: null,
        stateAt: now,
      };
      await tx.configs.insert({ ...summary, document: config, signed });
      await this.deps.auditor.record(tx, ctx, 'config.issue', { type: 'gateway', id: gatewayId }, { version, source: source.kind, basedOn, rolloutId: opts.rolloutId ?? null, note: opts.note ?? null });
      const gateway = (await tx.gateways.get(gatewayId))!;
      return { version, signed, summary, gateway };
    });
    await this.deliver(gatewayId, version, signed);
    return { ...summary, delivery: deliveryOf(gateway, version) };
  }

  list(gatewayId: string): Promise<ConfigVersionSummary[]> {
    return this.requireGateway(gatewayId).then(() => this.store.configs.list(gatewayId));
  }

  async get(gatewayId: string, version: number): Promise<ConfigVersion> {
    await this.requireGateway(gatewayId);
    const c = await this.store.configs.get(gatewayId, version);
    if (!c) throw notFound(`configuration version of gateway "${gatewayId}"`, version);
    return c;
  }

  /** The newest version issued to a gateway (what a config fetch returns), if any. */
  async current(gatewayId: string): Promise<ConfigVersion | undefined> {
    return this.store.configs.latest(gatewayId);
  }

  /**
   * Publishes every gateway's newest version again, e.g. when the registry starts with an
   * embedded broker whose retained messages did not survive. Returns how many were published;
   * a failure for one gateway is logged and the others still go.
   */
  async republishAll(): Promise<number> {
    let n = 0;
    for (const gw of await this.store.gateways.list()) {
      const c = await this.store.configs.latest(gw.id);
      if (!c) continue;
      try {
        await this.publisher.publish(gw.id, c.signed);
        n++;
      } catch (err) {
        this.deps.logger.error({ err, gatewayId: gw.id, version: c.version }, 'republishing a configuration failed');
      }
    }
    return n;
  }

  /**
   * Records what a gateway says about a version. Returns the new state when it moved the
   * version forward, undefined when it was unknown, stale or a duplicate.
   */
  async recordReport(report: ConfigReport): Promise<ConfigState | undefined> {
    const cur = await this.store.configs.get(report.gw, report.version);
    if (!cur) {
      this.deps.logger.warn({ gatewayId: report.gw, version: report.version, state: report.state }, 'config report for a version the registry never issued');
      return undefined;
    }
    return this.store.transaction(async (tx) => {
      await tx.gateways.setRunningVersion(report.gw, report.running);
      // Problems describe the version running when reported; a report sent again only to refresh them moves no state.
      const p = report.problems;
      if (p) await tx.gateways.setProblems(report.gw, { version: report.running, at: report.ts, lines: p.lines, devices: p.devices, ...(p.omitted && { omitted: p.omitted }) });
      if (STATE_RANK[report.state] <= STATE_RANK[cur.state]) return undefined;
      await tx.configs.setState(report.gw, report.version, { state: report.state, reason: report.reason ?? null, now: this.deps.clock.now() });
      await this.deps.auditor.record(tx, { actor: { kind: 'gateway', id: report.gw } }, 'config.report', { type: 'gateway', id: report.gw }, {
        version: report.version,
        state: report.state,
        reason: report.reason ?? null,
        running: report.running,
      });
      const level = report.state === 'rejected' || report.state === 'rolled_back' ? 'warn' : 'info';
      this.deps.logger[level]({ gatewayId: report.gw, version: report.version, state: report.state, reason: report.reason }, 'configuration report');
      return report.state;
    });
  }

  private async deliver(gatewayId: string, version: number, signed: SignedConfig): Promise<void> {
    try {
      await this.publisher.publish(gatewayId, signed);
    } catch (err) {
      this.deps.logger.error({ err, gatewayId, version }, 'publishing a configuration failed');
      throw new RegistryError('REG_BROKER_UNAVAILABLE', `configuration version ${version} is stored and can be fetched over HTTP, but the broker did not take it; push again when the broker is back`, { cause: err });
    }
  }

  private async documentFor(repos: Repos, gatewayId: string, source: ConfigSourceSpec): Promise<{ document: ConfigDocument; basedOn: number | null }> {
    switch (source.kind) {
      case 'composed':
        return { document: await this.composeFrom(repos, gatewayId), basedOn: null };
      case 'document': {
        await this.requireGateway(gatewayId, repos);
        const gw = source.document.gateway;
        if (gw !== null && typeof gw === 'object' && !Array.isArray(gw) && 'id' in gw && (gw as { id: unknown }).id !== gatewayId) {
          throw new RegistryError('REG_CONFIG_INVALID', `body.document.gateway.id: must be "${gatewayId}", the gateway this document is for`, { field: 'body.document.gateway.id' });
        }
        const gateway = gw !== null && typeof gw === 'object' && !Array.isArray(gw) ? { ...gw, id: gatewayId } : gw === undefined ? { id: gatewayId } : gw;
        return { document: { ...source.document, gateway }, basedOn: null };
      }
      case 'rollback': {
        await this.requireGateway(gatewayId, repos);
        const old = await repos.configs.get(gatewayId, source.fromVersion);
        if (!old) throw notFound(`configuration version of gateway "${gatewayId}"`, source.fromVersion);
        return { document: old.document, basedOn: source.fromVersion };
      }
    }
  }

  private async composeFrom(repos: Repos, gatewayId: string): Promise<ConfigDocument> {
    const gw = await repos.gateways.get(gatewayId);
    if (!gw) throw notFound('gateway', gatewayId);
    return this.composer.compose(gw, await repos.inventory.listLines(gatewayId), await repos.inventory.listDevices(gatewayId), (await repos.rules.get(gatewayId))?.rules);
  }

  private async requireGateway(id: string, repos: Repos = this.store): Promise<void> {
    if (!(await repos.gateways.get(id))) throw notFound('gateway', id);
  }
}
