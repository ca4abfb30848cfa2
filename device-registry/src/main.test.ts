import { spawn } from 'node:child_process';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'tsup';
import { beforeAll, describe, expect, it } from 'vitest';
import { bundleOptions } from '../../tsup.config.js';

const OUT = 'tests/.build/registry';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], env: Record<string, string> = {}, until?: (out: string) => boolean): Promise<Run & { kill(): void; wait: Promise<Run> }> {
  const proc = spawn(process.execPath, [join(OUT, 'cityedge-registry.js'), ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const r: Run = { code: null, stdout: '', stderr: '' };
  const wait = new Promise<Run>((resolve) => proc.on('exit', (code) => resolve({ ...r, code })));
  return new Promise((resolve, reject) => {
    const check = () => {
      if (until?.(r.stdout)) resolve({ ...r, kill: () => proc.kill('SIGTERM'), wait });
    };
    proc.stdout.on('data', (d: Buffer) => {
      r.stdout += d.toString();
      check();
    });
    proc.stderr.on('data', (d: Buffer) => (r.stderr += d.toString()));
    void wait.then((done) => (until ? reject(new Error(`exited ${done.code} before ready: ${done.stderr}${done.stdout}`)) : resolve({ ...done, kill: () => undefined, wait })));
  });
}

/** The registry as a real process: flags, first start, HTTP, SIGTERM. */
describe('cityedge-registry process', () => {
  beforeAll(async () => {
    await build({
      ...bundleOptions,
      config: false,
      entry: { 'cityedge-registry': 'device-registry/src/main.ts' },
      outDir: OUT,
      sourcemap: false,
      external: [...bundleOptions.external, 'fastify', '@fastify/swagger', 'kysely', 'pg', 'canonicalize'],
    });
  }, 60_000);

  it('exits 2 with a message naming a bad flag', async () => {
    const r = await run(['--port', 'eighty']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^cityedge-registry: --port: expected 0\.\.65535/);
    expect(r.stderr).not.toMatch(/\bat .*\.js:\d+/);
  });

  it('creates its keys and a bootstrap admin token on the first start, serves, and stops on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'registry-main-'));
    const p = await run(['--data-dir', dir, '--port', '0', '--mqtt-port', '0', '--broker-url', 'mqtt://127.0.0.1:18831'], {}, (out) => /registry listening/.test(out));
    const token = /Bootstrap admin API token[^\n]*\n\n\s+(\S+)/.exec(p.stdout)?.[1];
    const url = /"url":"(http:\/\/[^"]+)"/.exec(p.stdout)?.[1];
    expect(token).toMatch(/^cer_/);
    expect(url).toBeTruthy();
    expect(statSync(join(dir, 'config-signing-key.pem')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'secrets.key')).mode & 0o777).toBe(0o600);
    const sites = await fetch(`${url}/v1/sites`, { headers: { authorization: `Bearer ${token}` } });
    expect(sites.status).toBe(200);
    p.kill();
    expect((await p.wait).code).toBe(0);
    // the token appears once, in the banner, not in the log lines
    expect(p.stdout.split(token!).length - 1).toBe(1);

    const second = await run(['--data-dir', dir, '--port', '0', '--mqtt-port', '0'], {}, (out) => /registry listening/.test(out));
    expect(second.stdout).not.toMatch(/Bootstrap admin/);
    second.kill();
    expect((await second.wait).code).toBe(0);
  });

  it('tells gateways --gateway-broker-url and, with --trust-proxy, audits the client address from X-Forwarded-For', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'registry-main-'));
    const token = 'main-test-admin-token-0123456789';
    const p = await run(['--data-dir', dir, '--port', '0', '--mqtt-port', '0', '--trust-proxy', '--gateway-broker-url', 'mqtts://broker.ioc.example.vn:8883'], { REGISTRY_ADMIN_TOKEN: token }, (out) => /registry listening/.test(out));
    const url = /"url":"(http:\/\/[^"]+)"/.exec(p.stdout)?.[1];
    expect(p.stdout).toContain('"gatewayBrokerUrl":"mqtts://broker.ioc.example.vn:8883"');
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'x-forwarded-for': '203.0.113.9' };
    const created = await fetch(`${url}/v1/gateways`, { method: 'POST', headers, body: JSON.stringify({ id: 'gw-main' }) });
    const code = ((await created.json()) as { enrollment: { code: string } }).enrollment.code;
    const enrolled = await fetch(`${url}/v1/enroll`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code }) });
    expect(((await enrolled.json()) as { mqtt: { url: string } }).mqtt.url).toBe('mqtts://broker.ioc.example.vn:8883');
    const audit = (await (await fetch(`${url}/v1/audit?action=gateway.create`, { headers })).json()) as { entries: Array<{ sourceIp: string }> };
    expect(audit.entries[0]?.sourceIp).toBe('203.0.113.9');
    p.kill();
    expect((await p.wait).code).toBe(0);
  });
});
