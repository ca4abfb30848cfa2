import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRegistry, type OpenedRegistry } from '../server.js';

const CONFIG = new URL('../../redocly.yaml', import.meta.url).pathname;
const REDOCLY = createRequire(import.meta.url).resolve('@redocly/cli/bin/cli.js');

interface Operation {
  operationId?: string;
  security?: unknown[];
}
type OpenApi = { paths: Record<string, Record<string, Operation>>; servers?: unknown[]; info: { license?: unknown } };

let dir: string;
let registry: OpenedRegistry;
let doc: OpenApi;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'registry-openapi-'));
  registry = await openRegistry({ dataDir: dir, brokerInfo: { url: 'mqtt://127.0.0.1:1883' }, logger: pino({ level: 'silent' }), publicUrl: 'https://registry.ioc.example.vn' });
  // The document exactly as the registry serves it.
  const res = await registry.app.inject({ method: 'GET', url: '/openapi.json' });
  expect(res.statusCode).toBe(200);
  doc = res.json<OpenApi>();
});

afterAll(async () => {
  await registry?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the OpenAPI document', () => {
  it('lints clean with Redocly (recommended rules; errors and warnings alike)', () => {
    const file = join(dir, 'openapi.json');
    writeFileSync(file, JSON.stringify(doc, null, 2));
    const r = spawnSync(process.execPath, [REDOCLY, 'lint', file, '--config', CONFIG, '--format', 'json'], {
      encoding: 'utf8',
      timeout: 60_000,
      // No usage telemetry and no update check: the linter must not reach the network.
      env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', CI: 'true' },
    });
    const out = JSON.parse(r.stdout) as { totals: { errors: number; warnings: number }; problems: Array<{ ruleId: string; message: string; location: Array<{ pointer: string }> }> };
    const problems = out.problems.map((p) => `${p.ruleId}: ${p.message} at ${p.location[0]?.pointer}`);
    expect(problems).toEqual([]);
    expect(out.totals).toMatchObject({ errors: 0, warnings: 0 });
    expect(r.status).toBe(0);
  });

  it('names every operation, says which need no credentials, and where the API is', () => {
    const ops = Object.entries(doc.paths).flatMap(([path, byMethod]) => Object.entries(byMethod).map(([method, op]) => ({ route: `${method.toUpperCase()} ${path}`, ...op })));
    expect(ops.length).toBeGreaterThan(40);
    expect(ops.filter((o) => !o.operationId).map((o) => o.route)).toEqual([]);
    expect(new Set(ops.map((o) => o.operationId)).size).toBe(ops.length);
    const open = ops.filter((o) => Array.isArray(o.security) && o.security.length === 0).map((o) => o.route);
    expect(open.sort()).toEqual(['GET /healthz', 'GET /v1/gateways/{id}/cameras/{cameraId}/live.html', 'POST /v1/enroll', 'POST /v1/session']);
    expect(ops.filter((o) => o.security === undefined).map((o) => o.route)).toEqual([]);
    expect(doc.servers).toEqual([{ url: 'https://registry.ioc.example.vn', description: 'this registry' }]);
    expect(doc.info.license).toEqual({ name: 'Apache-2.0', identifier: 'Apache-2.0' });
  });
});
