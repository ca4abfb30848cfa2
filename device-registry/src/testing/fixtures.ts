import { expect } from 'vitest';
import type { EnrollResponse } from '@cityedge/contract';
import type { TestRegistry } from './harness.js';

/** Creates a site if needed, a gateway with a TCP line and `devices` sht20 sensors; returns its first code. */
export async function seedGateway(r: TestRegistry, id: string, opts: { site?: string; tags?: string[]; devices?: number } = {}): Promise<{ code: string }> {
  const token = r.tokens.technician;
  if (opts.site !== undefined) {
    const s = await r.call('GET', `/v1/sites/${opts.site}`, { token });
    if (s.statusCode === 404) expect((await r.call('POST', '/v1/sites', { token, body: { id: opts.site, name: `Site ${opts.site}`, timeZone: 'Europe/Madrid' } })).statusCode).toBe(201);
  }
  const g = await r.call('POST', '/v1/gateways', { token, body: { id, ...(opts.site !== undefined && { siteId: opts.site }), ...(opts.tags && { tags: opts.tags }) } });
  expect(g.statusCode, g.body).toBe(201);
  const line = await r.call('PUT', `/v1/gateways/${id}/lines/bus1`, { token, body: { type: 'tcp', host: '127.0.0.1', port: 5020 } });
  expect(line.statusCode, line.body).toBe(201);
  for (let u = 1; u <= (opts.devices ?? 1); u++) {
    const d = await r.call('POST', `/v1/gateways/${id}/devices`, { token, body: { id: `th-${u}`, lineId: 'bus1', profile: 'sht20', unitId: u } });
    expect(d.statusCode, d.body).toBe(201);
  }
  return { code: (g.json() as { enrollment: { code: string } }).enrollment.code };
}

export async function enroll(r: TestRegistry, code: string, remoteAddress?: string): Promise<EnrollResponse> {
  const res = await r.call('POST', '/v1/enroll', { body: { code, hostname: 'edge-box-1' }, ...(remoteAddress !== undefined && { remoteAddress }) });
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as EnrollResponse;
}

export function basicAuth(user: string, password: string): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` };
}

export function errorOf(res: { json(): unknown }): { code: string; message: string; field?: string; problems?: Array<{ path: string; message: string }> } {
  return (res.json() as { error: { code: string; message: string; field?: string } }).error;
}
