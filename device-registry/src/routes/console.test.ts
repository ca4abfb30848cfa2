import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen, openRegistry, type OpenedRegistry } from '../server.js';

/** A registry on a real socket serving a console directory (a stand-in build: no Vite needed). */
async function start(consoleDir: string, dataDir: string): Promise<{ registry: OpenedRegistry; url: string }> {
  const registry = await openRegistry({ dataDir, brokerInfo: { url: 'mqtt://127.0.0.1:1883' }, logger: pino({ level: 'silent' }), consoleDir });
  return { registry, url: await listen(registry.app, { host: '127.0.0.1', port: 0 }) };
}

describe('the registry serves the console', () => {
  let tmp: string;
  let built: { registry: OpenedRegistry; url: string };
  let missing: { registry: OpenedRegistry; url: string };
  const js = 'console.log("cityedge console");'.repeat(20);

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'console-static-'));
    const dist = join(tmp, 'dist');
    mkdirSync(join(dist, 'assets'), { recursive: true });
    writeFileSync(join(dist, 'index.html'), '<!doctype html><title>cityedge</title><div id="app"></div>');
    writeFileSync(join(dist, 'assets', 'index-abc123.js'), js);
    writeFileSync(join(dist, 'assets', 'index-abc123.js.gz'), gzipSync(js));
    writeFileSync(join(tmp, 'secret.txt'), 'outside the console');
    built = await start(dist, join(tmp, 'data1'));
    missing = await start(join(tmp, 'nothing-here'), join(tmp, 'data2'));
  }, 120_000);

  afterAll(async () => {
    await built?.registry.close();
    await missing?.registry.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('answers / and the enrollment link with index.html, not cached, with a same-origin policy', async () => {
    for (const path of ['/', '/enroll']) {
      const res = await fetch(built.url + path);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(res.headers.get('cache-control')).toBe('no-cache');
      expect(res.headers.get('content-security-policy')).toMatch(/default-src 'self'/);
      expect(await res.text()).toContain('<div id="app">');
    }
  });

  it('sends hashed assets precompressed with a long cache, and plain to a client without gzip', async () => {
    const gz = await fetch(`${built.url}/assets/index-abc123.js`, { headers: { 'accept-encoding': 'gzip' } });
    expect(gz.status).toBe(200);
    expect(gz.headers.get('content-encoding')).toBe('gzip');
    expect(gz.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(gz.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(await gz.text()).toBe(js); // fetch decodes it
    const plain = await fetch(`${built.url}/assets/index-abc123.js`, { headers: { 'accept-encoding': 'identity' } });
    expect(plain.headers.get('content-encoding')).toBeNull();
    expect(await plain.text()).toBe(js);
  });

  it('refuses paths outside the assets and unknown assets with a coded 404', async () => {
    for (const path of ['/assets/nope.js', '/assets/..%2f..%2fsecret.txt', '/assets/%2e%2e/%2e%2e/secret.txt']) {
      const res = await fetch(built.url + path);
      expect(res.status).toBe(404);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('REG_NOT_FOUND');
    }
  });

  it('keeps the API: /v1 and /healthz are not the console', async () => {
    expect((await fetch(`${built.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${built.url}/v1/sites`)).status).toBe(401);
  });

  it('without a built console, answers / with how to build it (200, never a 500)', async () => {
    const res = await fetch(`${missing.url}/`);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain('npm run build');
    expect(text).toContain('CITYEDGE_CONSOLE_DIR');
  });
});
