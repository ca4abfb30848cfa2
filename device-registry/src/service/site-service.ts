import { conflict, invalid, isUniqueViolation, notFound } from '../errors.js';
import type { RegistryStore } from '../db/store.js';
import type { Site } from '../repos/sites-repo.js';
import type { CallContext, ServiceDeps } from './context.js';

export interface SiteInput {
  id: string;
  name: string;
  location?: { lat: number; lon: number } | null;
  timeZone: string;
}

export function isValidTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export class SiteService {
  constructor(
    private readonly store: RegistryStore,
    private readonly deps: ServiceDeps,
  ) {}

  list(): Promise<Site[]> {
    return this.store.sites.list();
  }

  async get(id: string): Promise<Site> {
    const s = await this.store.sites.get(id);
    if (!s) throw notFound('site', id);
    return s;
  }

  async create(input: SiteInput, ctx: CallContext): Promise<Site> {
    if (!isValidTimeZone(input.timeZone)) throw invalid('body.timeZone', `unknown time zone "${input.timeZone}" (expected an IANA name such as Europe/Madrid)`);
    const now = this.deps.clock.now();
    const site: Site = { id: input.id, name: input.name, location: input.location ?? null, timeZone: input.timeZone, createdAt: now, updatedAt: now };
    try {
      await this.store.transaction(async (tx) => {
        await tx.sites.insert(site);
        await this.deps.auditor.record(tx, ctx, 'site.create', { type: 'site', id: site.id }, { name: site.name, timeZone: site.timeZone, location: site.location });
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict(`site "${site.id}" already exists`, 'body.id');
      throw err;
    }
    return site;
  }

  async update(id: string, patch: Partial<Omit<SiteInput, 'id'>>, ctx: CallContext): Promise<Site> {
    if (patch.timeZone !== undefined && !isValidTimeZone(patch.timeZone)) throw invalid('body.timeZone', `unknown time zone "${patch.timeZone}"`);
    return this.store.transaction(async (tx) => {
      const cur = await tx.sites.get(id);
      if (!cur) throw notFound('site', id);
      const next: Site = {
        ...cur,
        ...(patch.name !== undefined && { name: patch.name }),
        ...(patch.location !== undefined && { location: patch.location }),
        ...(patch.timeZone !== undefined && { timeZone: patch.timeZone }),
        updatedAt: this.deps.clock.now(),
      };
      await tx.sites.update(next);
      await this.deps.auditor.record(tx, ctx, 'site.update', { type: 'site', id }, { ...patch });
      return next;
    });
  }

  async delete(id: string, ctx: CallContext): Promise<void> {
    await this.store.transaction(async (tx) => {
      if (!(await tx.sites.get(id))) throw notFound('site', id);
      const n = await tx.gateways.countBySite(id);
      if (n > 0) throw conflict(`site "${id}" still has ${n} gateway(s); move or delete them first`);
      await tx.sites.delete(id);
      await this.deps.auditor.record(tx, ctx, 'site.delete', { type: 'site', id });
    });
  }
}
