import { isValidGatewayId } from '@cityedge/contract';
import type { RegistryStore } from '../db/store.js';
import { conflict, invalid, isUniqueViolation, notFound } from '../errors.js';
import type { ConfigState } from '../repos/configs-repo.js';
import type { Gateway } from '../repos/gateways-repo.js';
import type { CallContext, ServiceDeps } from './context.js';
import type { EnrollmentService, IssuedCode } from './enrollment-service.js';
import type { BrokerIdentity } from './ports.js';

export interface GatewayInput {
  id: string;
  siteId?: string | null;
  name?: string | null;
  tags?: string[];
}

/** A gateway as the API shows it: record, status and where its configuration stands. */
export interface GatewayView extends Omit<Gateway, 'lastConfigVersion'> {
  enrolled: boolean;
  config: { latestVersion: number; state: ConfigState; reason: string | null; stateAt: number } | null;
}

export class GatewayService {
  constructor(
    private readonly store: RegistryStore,
    private readonly deps: ServiceDeps,
    private readonly enrollment: EnrollmentService,
    private readonly brokerIdentity?: BrokerIdentity,
  ) {}

  async list(filter: { siteId?: string; tag?: string } = {}): Promise<GatewayView[]> {
    const gws = await this.store.gateways.list(filter);
    return Promise.all(gws.map((g) => this.view(g)));
  }

  async get(id: string): Promise<GatewayView> {
    const g = await this.store.gateways.get(id);
    if (!g) throw notFound('gateway', id);
    return this.view(g);
  }

  /** Creates a gateway and its first enrollment code (shown once). */
  async create(input: GatewayInput & { codeTtlMs?: number }, ctx: CallContext): Promise<{ gateway: GatewayView; enrollment: IssuedCode }> {
    if (!isValidGatewayId(input.id)) throw invalid('body.id', 'expected lowercase letters, digits, "-" and "_" (at most 63), starting with a letter or digit');
    const tags = normalizeTags(input.tags ?? []);
    let issued: IssuedCode;
    try {
      issued = await this.store.transaction(async (tx) => {
        if (input.siteId && !(await tx.sites.get(input.siteId))) throw invalid('body.siteId', `no site "${input.siteId}"`);
        if (await tx.gateways.get(input.id)) throw conflict(`gateway "${input.id}" already exists`, 'body.id');
        const lastConfigVersion = await tx.configs.maxVersion(input.id);
        await tx.gateways.insert({ id: input.id, siteId: input.siteId ?? null, name: input.name ?? null, tags, now: this.deps.clock.now(), lastConfigVersion });
        await this.deps.auditor.record(tx, ctx, 'gateway.create', { type: 'gateway', id: input.id }, { siteId: input.siteId ?? null, name: input.name ?? null, tags });
        return this.enrollment.issueCodeIn(tx, input.id, input.codeTtlMs, ctx);
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict(`gateway "${input.id}" already exists`, 'body.id');
      throw err;
    }
    return { gateway: await this.get(input.id), enrollment: issued };
  }

  async update(id: string, patch: { siteId?: string | null; name?: string | null; tags?: string[] }, ctx: CallContext): Promise<GatewayView> {
    await this.store.transaction(async (tx) => {
      const cur = await tx.gateways.get(id);
      if (!cur) throw notFound('gateway', id);
      if (patch.siteId && !(await tx.sites.get(patch.siteId))) throw invalid('body.siteId', `no site "${patch.siteId}"`);
      const next = {
        siteId: patch.siteId === undefined ? cur.siteId : patch.siteId,
        name: patch.name === undefined ? cur.name : patch.name,
        tags: patch.tags === undefined ? cur.tags : normalizeTags(patch.tags),
        now: this.deps.clock.now(),
      };
      await tx.gateways.update(id, next);
      await this.deps.auditor.record(tx, ctx, 'gateway.update', { type: 'gateway', id }, { ...patch });
    });
    return this.get(id);
  }

  /** Deletes a gateway with its lines, devices, cameras and codes; its config history stays. */
  async delete(id: string, ctx: CallContext): Promise<void> {
    await this.store.transaction(async (tx) => {
      if (!(await tx.gateways.get(id))) throw notFound('gateway', id);
      await tx.inventory.deleteAllOf(id);
      await tx.gateways.deleteCodes(id);
      await tx.gateways.delete(id);
      await this.deps.auditor.record(tx, ctx, 'gateway.delete', { type: 'gateway', id });
    });
    if (this.brokerIdentity) {
      await this.brokerIdentity.deprovisionGateway(id).catch((err: unknown) => this.deps.logger.error({ err, gatewayId: id }, 'could not remove the broker account of a deleted gateway'));
    }
  }

  private async view(g: Gateway): Promise<GatewayView> {
    const latest = await this.store.configs.latestSummary(g.id);
    const { lastConfigVersion: _unused, ...rest } = g;
    return {
      ...rest,
      enrolled: g.enrolledAt !== null,
      config: latest ? { latestVersion: latest.version, state: latest.state, reason: latest.reason, stateAt: latest.stateAt } : null,
    };
  }
}

function normalizeTags(tags: string[]): string[] {
  return [...new Set(tags.map((t) => t.trim()).filter((t) => t.length > 0))].sort();
}
