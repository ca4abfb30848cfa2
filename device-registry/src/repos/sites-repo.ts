import type { Kysely, Selectable } from 'kysely';
import type { RegistryTables, SitesTable } from '../db/schema.js';
import { affected } from './json.js';

export interface Site {
  id: string;
  name: string;
  location: { lat: number; lon: number } | null;
  timeZone: string;
  createdAt: number;
  updatedAt: number;
}

function toSite(r: Selectable<SitesTable>): Site {
  return {
    id: r.id,
    name: r.name,
    location: r.lat === null || r.lon === null ? null : { lat: r.lat, lon: r.lon },
    timeZone: r.time_zone,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export class SitesRepo {
  constructor(private readonly db: Kysely<RegistryTables>) {}

  async insert(site: Site): Promise<void> {
    await this.db
      .insertInto('sites')
      .values({ id: site.id, name: site.name, lat: site.location?.lat ?? null, lon: site.location?.lon ?? null, time_zone: site.timeZone, created_at: site.createdAt, updated_at: site.updatedAt })
      .execute();
  }

  async update(site: Site): Promise<boolean> {
    const r = await this.db
      .updateTable('sites')
      .set({ name: site.name, lat: site.location?.lat ?? null, lon: site.location?.lon ?? null, time_zone: site.timeZone, updated_at: site.updatedAt })
      .where('id', '=', site.id)
      .executeTakeFirst();
    return affected(r) > 0;
  }

  async get(id: string): Promise<Site | undefined> {
    const r = await this.db.selectFrom('sites').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toSite(r);
  }

  async list(): Promise<Site[]> {
    return (await this.db.selectFrom('sites').selectAll().orderBy('id').execute()).map(toSite);
  }

  async delete(id: string): Promise<boolean> {
    return affected(await this.db.deleteFrom('sites').where('id', '=', id).executeTakeFirst()) > 0;
  }
}
