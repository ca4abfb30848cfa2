import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen, openRegistry, type OpenedRegistry } from '../server.js';
import { SYSTEM } from '../service/context.js';
import { parseEnrollmentLink } from '@cityedge/contract';
import { main } from './main.js';
import type { CliIo } from './output.js';
import { formatTime } from './time-zones.js';
import { RegistryApiError, RegistryClient, RegistryClientError, type ConfigVersionSummary, type GatewayView, type Site } from './registry-client.js';

const ADMIN_TOKEN = 'admin-token-for-edgectl-tests-0123456789';
const WRONG_TOKEN = 'wrong-token-zq81c7e4d2f0a9b6';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** A running edgectl: its output so far and its exit code when done. */
interface Running {
  out: { stdout: string; stderr: string };
  done: Promise<Run>;
}

let dir: string;
let registry: OpenedRegistry;
let url: string;
let technician: string;

function start(argv: string[], o: { token?: string; env?: Record<string, string>; withRegistry?: boolean } = {}): Running {
  const out = { stdout: '', stderr: '' };
  const io: CliIo = {
    stdout: { write: (s: string) => (out.stdout += s) },
    stderr: { write: (s: string) => (out.stderr += s) },
    env: o.env ?? { EDGECTL_TOKEN: o.token ?? technician },
  };
  const args = o.withRegistry === false ? argv : ['--registry', url, ...argv];
  return { out, done: main(args, io).then((code) => ({ code, ...out })) };
}

const run = (argv: string[], o: Parameters<typeof start>[1] = {}): Promise<Run> => start(argv, o).done;

/** Waits (bounded) until `pred` holds; a synchronisation step, not a timing assertion. */
async function until(pred: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (pred()) return;
    await delay(10);
  }
  throw new Error(`gave up waiting for ${what}`);
}

function report(gw: string, version: number, state: 'applied' | 'committed' | 'rejected' | 'rolled_back', reason?: string) {
  return registry.services.fleet.onReport({ v: 1, gw, version, state, ts: Date.now(), running: state === 'committed' || state === 'applied' ? version : Math.max(0, version - 1), ...(reason && { reason }) }, gw);
}

/** A site, a gateway with a TCP line and one sht20, all made through edgectl. */
async function seed(gw: string, site: string, tag?: string): Promise<void> {
  if ((await run(['site', 'show', site])).code !== 0) expect((await run(['site', 'create', site, '--name', `Site ${site}`, '--tz', 'Asia/Ho_Chi_Minh'])).code).toBe(0);
  const created = await run(['gateway', 'create', gw, '--site', site, '--no-qr', ...(tag ? ['--tag', tag] : [])]);
  expect(created.code, created.stderr).toBe(0);
  const line = await run(['line', 'set', gw, 'bus1', '--type', 'tcp', '--host', '127.0.0.1', '--port', '5020']);
  expect(line.code, line.stderr).toBe(0);
  const dev = await run(['device', 'add', gw, 'th-1', '--line', 'bus1', '--profile', 'sht20', '--unit', '1']);
  expect(dev.code, dev.stderr).toBe(0);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'edgectl-'));
  registry = await openRegistry({ dataDir: dir, brokerInfo: { url: 'mqtt://127.0.0.1:18830' }, logger: pino({ level: 'silent' }), adminToken: ADMIN_TOKEN });
  url = await listen(registry.app, { host: '127.0.0.1', port: 0 });
  technician = (await registry.services.tokens.create({ name: 'tech-ana', role: 'technician' }, SYSTEM)).token;
});

afterAll(async () => {
  await registry?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('edgectl provisioning', () => {
  it('creates a site and a gateway and prints a working enrollment code, the enroll command and a QR block', async () => {
    const site = await run(['site', 'create', 'riverside', '--name', 'Riverside pumping station', '--tz', 'Asia/Ho_Chi_Minh', '--lat', '10.77', '--lon', '106.70']);
    expect(site.code, site.stderr).toBe(0);
    expect(site.stdout).toContain('site riverside created');

    const gw = await run(['gateway', 'create', 'gw-river-01', '--site', 'riverside', '--tag', 'flood', '--tag', 'district-7']);
    expect(gw.code, gw.stderr).toBe(0);
    const code = /--code (\S+)/.exec(gw.stdout)?.[1];
    expect(code).toBeDefined();
    expect(gw.stdout).toContain(`cityedge-agent enroll --registry ${url} --code ${code}`);
    // In the site's zone, with its offset from UTC.
    expect(gw.stdout).toMatch(/expires \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+07:00, in 24 h/);
    expect(gw.stdout).toMatch(/[▀▄█]{4}/); // the small QR block
    expect(gw.stderr).toBe('');

    // The printed code is the one the registry issued: a gateway can enroll with it.
    const identity = await new RegistryClient({ baseUrl: url }).enroll(code!, 'edge-box-1');
    expect(identity.gatewayId).toBe('gw-river-01');

    const list = await run(['site', 'list']);
    expect(list.stdout).toMatch(/riverside\s+Riverside pumping station\s+Asia\/Ho_Chi_Minh\s+10\.77, 106\.7/);
  });

  it('issues a new code with gateway code, and --public-url goes into the printed command', async () => {
    await run(['gateway', 'create', 'gw-code-1', '--no-qr']);
    const r = await run(['gateway', 'code', 'gw-code-1', '--public-url', 'https://registry.example:8443/', '--no-qr']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/cityedge-agent enroll --registry https:\/\/registry\.example:8443 --code \S+/);
    expect(r.stdout).not.toMatch(/[▀▄█]/);
  });

  it('answers a device with a bad unit id with exit 1 and the field as the registry names it', async () => {
    await seed('gw-units', 'units-site');
    const r = await run(['device', 'add', 'gw-units', 'th-9', '--line', 'bus1', '--profile', 'sht20', '--unit', '300']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^edgectl: device add: body\.unitId: .+ \(REG_VALIDATION\)\n$/);
    expect(r.stdout).toBe('');

    const serial = await run(['line', 'set', 'gw-units', 'rs485', '--type', 'rtu', '--path', '/dev/ttyUSB0', '--baud', '9600', '--parity', 'even']);
    expect(serial.code, serial.stderr).toBe(0);
    const zero = await run(['device', 'add', 'gw-units', 'lvl-1', '--line', 'rs485', '--profile', 'vegapuls-c21', '--unit', '0']);
    expect(zero.code).toBe(1);
    expect(zero.stderr).toContain('body.unitId');
    expect(zero.stderr.split('\n').filter(Boolean)).toHaveLength(1);
  });

  it('lists devices and lines, and removes a device', async () => {
    const devices = await run(['device', 'list', 'gw-units', '--json']);
    expect((JSON.parse(devices.stdout) as Array<{ id: string }>).map((d) => d.id)).toEqual(['th-1']);
    const lines = await run(['line', 'list', 'gw-units']);
    expect(lines.stdout).toMatch(/rs485\s+rtu\s+\/dev\/ttyUSB0\s+baudRate=9600 parity=even/);
    const rm = await run(['device', 'rm', 'gw-units', 'th-1']);
    expect(rm.code, rm.stderr).toBe(0);
    expect((await run(['device', 'list', 'gw-units'])).stdout).toContain('no devices on gw-units');
  });
});

describe('edgectl usage and errors', () => {
  it('refuses an unknown flag with exit 2 naming the flag, and asks nothing of the registry', async () => {
    const r = await run(['device', 'add', 'gw-units', 'd1', '--line', 'bus1', '--profile', 'sht20', '--bogus']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('edgectl: device add: unknown option --bogus');
    expect(r.stderr).toContain('usage: edgectl device add <gateway> <deviceId>');
    expect(r.stdout).toBe('');
  });

  it('names the flag for a malformed number, a missing value, a missing argument and a missing token (exit 2)', async () => {
    expect(await run(['device', 'add', 'gw', 'd', '--line', 'l', '--profile', 'p', '--unit', 'seven'])).toMatchObject({ code: 2, stderr: expect.stringContaining('--unit: expected an integer, got "seven"') });
    expect(await run(['site', 'create', 's1', '--name'])).toMatchObject({ code: 2, stderr: expect.stringContaining('--name') });
    expect(await run(['gateway', 'show'])).toMatchObject({ code: 2, stderr: expect.stringContaining('missing <id>') });
    expect(await run(['site', 'list'], { env: {} })).toMatchObject({ code: 2, stderr: expect.stringContaining('--token: missing') });
    expect(await run(['rollout', 'start', '--canary', '1'])).toMatchObject({ code: 2, stderr: expect.stringContaining('--site: missing') });
    expect(await run(['nonsense'])).toMatchObject({ code: 2, stderr: expect.stringContaining('unknown command "nonsense"') });
  });

  it('prints help with exit 0', async () => {
    const all = await run(['--help'], { withRegistry: false });
    expect(all.code).toBe(0);
    expect(all.stdout).toContain('usage: edgectl <command> [options]');
    expect(all.stdout).toContain('config watch <gateway> [--version <n>] [--timeout <s>] [--interval <ms>]');
    const one = await run(['gateway', 'create', '-h'], { withRegistry: false });
    expect(one.code).toBe(0);
    expect(one.stdout).toContain('--tag <tag>');
  });

  it('says unauthorized for a wrong token (exit 1) and never echoes the token', async () => {
    const viaEnv = await run(['gateway', 'list'], { token: WRONG_TOKEN });
    expect(viaEnv.code).toBe(1);
    expect(viaEnv.stderr).toMatch(/^edgectl: gateway list: .*\(REG_UNAUTHORIZED\)\n$/);
    expect(viaEnv.stderr.toLowerCase()).toContain('unauthorized');
    const viaFlag = await run(['--token', WRONG_TOKEN, 'site', 'show', 'riverside']);
    expect(viaFlag.code).toBe(1);
    for (const r of [viaEnv, viaFlag]) expect(r.stdout + r.stderr).not.toContain(WRONG_TOKEN);
  });

  it('says forbidden when a technician creates a token; an admin can, and the new token works', async () => {
    const denied = await run(['token', 'create', 'ops-display', '--role', 'viewer']);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain('(REG_FORBIDDEN)');
    const made = await run(['token', 'create', 'ops-display', '--role', 'viewer', '--json'], { token: ADMIN_TOKEN });
    expect(made.code, made.stderr).toBe(0);
    const t = JSON.parse(made.stdout) as { token: string; role: string };
    expect(t.role).toBe('viewer');
    expect((await run(['gateway', 'list'], { token: t.token })).code).toBe(0);
    expect((await run(['token', 'create', 'x', '--role', 'root'], { token: ADMIN_TOKEN })).code).toBe(2);
  });

  it('adds, lists, disables, enables console accounts and sets a new password; the printed password signs in', async () => {
    const signIn = (username: string, password: string) => fetch(`${url}/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
    expect((await run(['accounts', 'add', 'lan', '--role', 'technician'])).stderr).toContain('(REG_FORBIDDEN)');
    const added = await run(['accounts', 'add', 'lan', '--role', 'technician', '--name', 'Nguyễn Thị Lan'], { token: ADMIN_TOKEN });
    expect(added.code, added.stderr).toBe(0);
    const password = /^ {2}(\S+)$/m.exec(added.stdout)?.[1];
    expect(password).toMatch(/^[a-z0-9]{4}(-[a-z0-9]{4}){3}$/);
    expect((await signIn('lan', password!)).status).toBe(200);
    const list = await run(['accounts', 'list'], { token: ADMIN_TOKEN });
    expect(list.stdout).toMatch(/lan\s+Nguyễn Thị Lan\s+technician\s+active/);
    expect((await run(['accounts', 'disable', 'lan'], { token: ADMIN_TOKEN })).stdout).toContain('account lan disabled');
    expect((await signIn('lan', password!)).status).toBe(401);
    expect((await run(['accounts', 'enable', 'lan'], { token: ADMIN_TOKEN })).code).toBe(0);
    const reset = await run(['accounts', 'passwd', 'lan', '--json'], { token: ADMIN_TOKEN });
    const next = (JSON.parse(reset.stdout) as { password: string }).password;
    expect((await signIn('lan', password!)).status).toBe(401);
    expect((await signIn('lan', next)).status).toBe(200);
    expect((await run(['accounts', 'add', 'x', '--role', 'root'], { token: ADMIN_TOKEN })).code).toBe(2);
    expect((await run(['accounts', 'disable', 'nobody'], { token: ADMIN_TOKEN })).stderr).toContain('(REG_NOT_FOUND)');
  });

  it('reports an unreachable registry with its URL (exit 1)', async () => {
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as { port: number }).port;
    await new Promise<void>((r) => srv.close(() => r()));
    const dead = `http://127.0.0.1:${port}`;
    const r = await run(['--registry', dead, 'site', 'list'], { withRegistry: false });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`edgectl: site list: cannot reach the registry at ${dead}: connection refused (ECONNREFUSED)\n`);
    await expect(new RegistryClient({ baseUrl: dead, token: 'x' }).listSites()).rejects.toBeInstanceOf(RegistryClientError);
  });
});

describe('edgectl configuration', () => {
  it('pushes version 1, lists it in the history and previews the document', async () => {
    await seed('gw-cfg', 'cfg-site');
    const push = await run(['config', 'push', 'gw-cfg', '--note', 'first devices']);
    expect(push.code, push.stderr).toBe(0);
    expect(push.stdout).toContain('gw-cfg: configuration version 1 issued (pending)');
    const history = await run(['config', 'history', 'gw-cfg', '--json']);
    const versions = JSON.parse(history.stdout) as ConfigVersionSummary[];
    expect(versions.map((v) => [v.version, v.state, v.note])).toEqual([[1, 'pending', 'first devices']]);
    const preview = await run(['config', 'preview', 'gw-cfg', '--json']);
    expect(preview.code).toBe(0);
    expect((JSON.parse(preview.stdout) as { document: { gateway: { id: string } }; problems: unknown[] }).document.gateway.id).toBe('gw-cfg');
  });

  it('config watch prints each state and exits 0 when the gateway commits', async () => {
    const w = start(['config', 'watch', 'gw-cfg', '--interval', '20']);
    await until(() => w.out.stdout.includes('v1 pending'), 'the pending state');
    await report('gw-cfg', 1, 'applied');
    await until(() => w.out.stdout.includes('v1 applied'), 'the applied state');
    await report('gw-cfg', 1, 'committed');
    const r = await w.done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n').map((l) => l.replace(/^\S+ \S+ \S+\s+/, ''))).toEqual(['gw-cfg v1 pending', 'gw-cfg v1 applied', 'gw-cfg v1 committed']);
  });

  it('config watch exits 1 when the gateway rolls the version back, naming the reason', async () => {
    const push = await run(['config', 'push', 'gw-cfg', '--json']);
    const v = (JSON.parse(push.stdout) as ConfigVersionSummary).version;
    expect(v).toBe(2);
    const w = start(['config', 'watch', 'gw-cfg', '--version', String(v), '--interval', '20', '--json']);
    await until(() => w.out.stdout.includes('"pending"'), 'the pending state');
    await report('gw-cfg', v, 'rolled_back', 'devices answering fewer than before (0/1)');
    const r = await w.done;
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('edgectl: config watch: gw-cfg v2 rolled_back: devices answering fewer than before (0/1)\n');
    const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { version: number; state: string });
    expect(events.map((e) => e.state)).toEqual(['pending', 'rolled_back']);
  });

  it('config watch exits 3 when the time runs out; rollback issues a higher version', async () => {
    const rb = await run(['config', 'rollback', 'gw-cfg', '1']);
    expect(rb.code, rb.stderr).toBe(0);
    expect(rb.stdout).toContain('version 3 issued with the document of v1');
    const r = await run(['config', 'watch', 'gw-cfg', '--timeout', '1', '--interval', '100']);
    expect(r.code).toBe(3);
    expect(r.stderr).toBe('edgectl: config watch: gw-cfg v3 still pending after 1 s\n');
    expect((await run(['config', 'rollback', 'gw-cfg', 'latest'])).code).toBe(2);
    const missing = await run(['config', 'rollback', 'gw-cfg', '99']);
    expect(missing).toMatchObject({ code: 1, stderr: expect.stringContaining('(REG_NOT_FOUND)') });
  });

  it('gateway show and watch follow the status the gateway reports', async () => {
    const w = start(['gateway', 'watch', 'gw-cfg', '--until', 'online', '--interval', '20']);
    await until(() => w.out.stdout.includes('gw-cfg unknown'), 'the first status line');
    await registry.services.fleet.onStatus('gw-cfg', { v: 1, gw: 'gw-cfg', state: 'online', ts: Date.now(), agentVersion: '0.3.1', configVersion: 3, backlog: 12, devicesFailing: 1 });
    const r = await w.done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/gw-cfg online\s+agent 0\.3\.1\s+running v3\s+newest v3 pending\s+backlog 12\s+devices failing 1/);

    const show = await run(['gateway', 'show', 'gw-cfg']);
    expect(show.stdout).toMatch(/status:\s+online since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+07:00/);
    expect(show.stdout).toMatch(/last seen:\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+07:00 \(\d+ s ago\)/);
    expect(show.stdout).toMatch(/newest config:\s+v3 pending/);
    const json = JSON.parse((await run(['gateway', 'show', 'gw-cfg', '--json'])).stdout) as GatewayView;
    expect(json.status).toMatchObject({ state: 'online', agentVersion: '0.3.1', configVersionRunning: 3, backlog: 12, devicesFailing: 1 });
    expect(json.config).toMatchObject({ latestVersion: 3, state: 'pending' });
  });
});

describe('edgectl rollouts and JSON output', () => {
  it('starts a rollout to a tag and rollout watch exits 0 once every gateway commits', async () => {
    await seed('gw-roll-a', 'roll-site', 'pilot');
    await seed('gw-roll-b', 'roll-site', 'pilot');
    const started = await run(['rollout', 'start', '--tag', 'pilot', '--canary', '1', '--json']);
    expect(started.code, started.stderr).toBe(0);
    const rollout = JSON.parse(started.stdout) as { id: string; state: string; progress: { total: number } };
    expect(rollout).toMatchObject({ state: 'canary', progress: { total: 2 } });

    const w = start(['rollout', 'watch', rollout.id, '--interval', '20']);
    await until(() => w.out.stdout.includes('gw-roll-a (canary) v1 pending'), 'the canary');
    await report('gw-roll-a', 1, 'committed');
    await until(() => w.out.stdout.includes('gw-roll-b (rest) v1 pending'), 'the rest');
    await report('gw-roll-b', 1, 'committed');
    const r = await w.done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/completed\s+total 2\s+applied 2\s+committed 2\s+failed 0\s+pending 0/);
  });

  it('rollout watch exits 1 when the canary rolls back and the rollout halts', async () => {
    await seed('gw-halt', 'halt-site');
    const started = await run(['rollout', 'start', '--site', 'halt-site', '--json']);
    const id = (JSON.parse(started.stdout) as { id: string }).id;
    await report('gw-halt', 1, 'rolled_back', 'broker link down');
    const r = await run(['rollout', 'watch', id, '--interval', '20']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`rollout ${id} halted: canary gw-halt rolled back: broker link down`);
  });

  it('prints the API answer as parseable JSON', async () => {
    const created = await run(['gateway', 'create', 'gw-json', '--site', 'riverside', '--json']);
    const c = JSON.parse(created.stdout) as { gateway: GatewayView; enrollment: { code: string; expiresAt: number }; enrollCommand: string; enrollLink: string };
    expect(c.gateway.id).toBe('gw-json');
    expect(c.enrollCommand).toBe(`sudo -u cityedge cityedge-agent enroll --registry ${url} --code ${c.enrollment.code}`);
    expect(parseEnrollmentLink(c.enrollLink)).toEqual({ ok: true, registryUrl: url, code: c.enrollment.code });
    const sites = JSON.parse((await run(['--json', 'site', 'list'])).stdout) as Site[];
    expect(sites.map((s) => s.id)).toContain('riverside');
    const gws = JSON.parse((await run(['gateway', 'list', '--site', 'riverside', '--json'])).stdout) as GatewayView[];
    expect(gws.map((g) => g.id).sort()).toEqual(['gw-json', 'gw-river-01']);
    const rollouts = JSON.parse((await run(['rollout', 'list', '--json'])).stdout) as unknown[];
    expect(rollouts).toHaveLength(2);
  });

  it('RegistryClient throws RegistryApiError with the code and field', async () => {
    const client = new RegistryClient({ baseUrl: url, token: technician });
    const err = await client.createSite({ id: 'bad-tz', name: 'x', timeZone: 'Mars/Olympus' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryApiError);
    expect(err).toMatchObject({ status: 400, code: 'REG_VALIDATION', field: 'body.timeZone' });
  });
});

describe("edgectl shows times in the site's time zone; JSON keeps UTC ms", () => {
  const madrid = (ms: number) => formatTime(ms, 'Europe/Madrid');

  it('config history, gateway show and list, audit and rollouts of a site in Madrid are in Madrid time', async () => {
    expect((await run(['site', 'create', 'madrid', '--name', 'Madrid depot', '--tz', 'Europe/Madrid'])).code).toBe(0);
    await seed('gw-mad', 'madrid');
    expect((await run(['config', 'push', 'gw-mad'])).code).toBe(0);
    await registry.services.fleet.onStatus('gw-mad', { v: 1, gw: 'gw-mad', state: 'online', ts: Date.now(), agentVersion: '0.3.1', configVersion: 1, backlog: 0, devicesFailing: 0 });

    const versions = JSON.parse((await run(['config', 'history', 'gw-mad', '--json'])).stdout) as ConfigVersionSummary[];
    expect(typeof versions[0]!.createdAt).toBe('number');
    const history = await run(['config', 'history', 'gw-mad']);
    expect(history.stdout).toContain(madrid(versions[0]!.createdAt));
    expect(history.stdout).toMatch(/ \+0[12]:00 /);
    expect(history.stdout).not.toMatch(/\+07:00|\dZ\b/);

    const g = JSON.parse((await run(['gateway', 'show', 'gw-mad', '--json'])).stdout) as GatewayView;
    const show = (await run(['gateway', 'show', 'gw-mad'])).stdout;
    expect(show).toContain(`online since ${madrid(g.status.since!)}`);
    expect(show).toMatch(new RegExp(`last seen:\\s+${madrid(g.status.lastSeen!).replace('+', '\\+')} \\(\\d+ s ago\\)`));
    expect(show).toMatch(/times in:\s+Europe\/Madrid/);
    const list = (await run(['gateway', 'list', '--site', 'madrid'])).stdout;
    expect(list).toContain(madrid(g.status.lastSeen!));

    const rollout = JSON.parse((await run(['rollout', 'start', '--site', 'madrid', '--canary', '0', '--json'])).stdout) as { id: string; createdAt: number };
    expect((await run(['rollout', 'show', rollout.id])).stdout).toMatch(new RegExp(`started:\\s+${madrid(rollout.createdAt).replace('+', '\\+')} by `));
    expect((await run(['rollout', 'list'])).stdout).toContain(madrid(rollout.createdAt));

    const audit = await run(['audit', 'list', '--target-type', 'site', '--target-id', 'madrid', '--json']);
    const entry = (JSON.parse(audit.stdout) as Array<{ ts: number; action: string }>)[0]!;
    expect(entry.action).toBe('site.create');
    const human = await run(['audit', 'list', '--target-type', 'site', '--target-id', 'madrid']);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/^ENTRY\s+TIME\s+WHO\s+ACTION\s+TARGET/);
    expect(human.stdout).toContain(`${madrid(entry.ts)}  tech-ana`);
    expect(human.stdout).toContain('site.create');
    const device = await run(['audit', 'list', '--target-type', 'device', '--target-id', 'gw-mad/th-1', '--limit', '1']);
    expect(device.stdout).toMatch(/ \+0[12]:00 /);
  });

  it('what belongs to no site is in EDGECTL_TZ, default Asia/Ho_Chi_Minh; a bad zone is a usage error', async () => {
    const tokens = JSON.parse((await run(['token', 'list', '--json'], { token: ADMIN_TOKEN })).stdout) as Array<{ createdAt: number }>;
    const first = tokens[0]!.createdAt;
    expect((await run(['token', 'list'], { token: ADMIN_TOKEN })).stdout).toContain(formatTime(first, 'Asia/Ho_Chi_Minh'));
    const inUtc = await run(['token', 'list'], { env: { EDGECTL_TOKEN: ADMIN_TOKEN, EDGECTL_TZ: 'UTC' } });
    expect(inUtc.stdout).toContain(formatTime(first, 'UTC'));
    expect(formatTime(first, 'UTC')).toMatch(/ \+00:00$/);
    const bad = await run(['token', 'list'], { env: { EDGECTL_TOKEN: ADMIN_TOKEN, EDGECTL_TZ: 'Mars/Olympus' } });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('EDGECTL_TZ: unknown time zone "Mars/Olympus"');
  });

  it('a site gets Asia/Ho_Chi_Minh unless --tz says otherwise; an unknown zone is refused before asking the registry', async () => {
    expect((await run(['site', 'create', 'hue', '--name', 'Hue'])).stdout).toContain('site hue created (Hue, Asia/Ho_Chi_Minh)');
    const bad = await run(['site', 'create', 'mars', '--name', 'Mars', '--tz', 'Mars/Olympus']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--tz: unknown time zone "Mars/Olympus"');
    expect((await run(['site', 'show', 'mars'])).code).toBe(1);
  });

  it('rules set | show | clear: a YAML file of rules goes into the next pushed configuration; a bad one names each problem', async () => {
    await seed('gw-rules', 'dongha');
    expect((await run(['device', 'add', 'gw-rules', 'river-radar', '--line', 'bus1', '--profile', 'geolux-lx80', '--unit', '2'])).code).toBe(0);
    const file = join(dir, 'rules.yaml');
    writeFileSync(file, ['flood:', '  - id: dongha', '    sensor: { dev: river-radar, pt: distance }', '    kind: radar', '    sensorHeight: 8', '    levels: { bd1: 2.0, bd2: 3.0, bd3: 4.0 }', ''].join('\n'));
    const set = await run(['rules', 'set', 'gw-rules', file]);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toContain('rules of gw-rules set: 1 flood station; push them with: edgectl config push gw-rules');
    const show = await run(['rules', 'show', 'gw-rules']);
    expect(show.stdout).toMatch(/flood:\s+dongha/);
    expect(show.stdout).toMatch(/by tech-ana/);
    expect((await run(['config', 'push', 'gw-rules'])).code).toBe(0);
    const latest = await registry.services.configs.current('gw-rules');
    expect(latest?.document.rules).toEqual({ flood: [expect.objectContaining({ id: 'dongha', levels: { bd1: 2, bd2: 3, bd3: 4 } })] });

    const bad = join(dir, 'bad-rules.json');
    writeFileSync(bad, JSON.stringify({ flood: [{ id: 'dongha', sensor: { dev: 'river-radar', pt: 'stage' }, kind: 'radar', sensorHeight: 8, levels: { bd1: 2, bd2: 3, bd3: 4 }, outputs: { bd1: [{ dev: 'th-1', pt: 'temperature' }] } }] }));
    const refused = await run(['rules', 'set', 'gw-rules', bad]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('body.flood[0].sensor.pt: device "river-radar" has no point "stage"');
    expect(refused.stderr).toContain('body.flood[0].outputs.bd1[0].pt: point "temperature" of device "th-1" is not writable');
    expect(refused.stderr).toContain('(REG_VALIDATION)');
    writeFileSync(bad, 'flood: [\n');
    expect((await run(['rules', 'set', 'gw-rules', bad])).stderr).toMatch(/bad-rules.json: line \d+, column \d+/);
    expect((await run(['rules', 'set', 'gw-rules', join(dir, 'missing.yaml')])).stderr).toContain('cannot read');

    expect((await run(['rules', 'clear', 'gw-rules'])).stdout).toContain('rules of gw-rules cleared');
    const gone = await run(['rules', 'show', 'gw-rules']);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('(REG_NOT_FOUND)');
  });
});
