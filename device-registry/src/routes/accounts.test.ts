import { afterEach, describe, expect, it } from 'vitest';
import { listen } from '../server.js';
import { startTestRegistry, type TestRegistry } from '../testing/harness.js';
import { sqliteStoreFactory, type TestStore } from '../testing/stores.js';
import type { AccountServiceOptions } from '../service/account-service.js';

/** The console's accounts and sessions over real HTTP (fetch against a listening registry). */
interface Live {
  r: TestRegistry;
  url: string;
  /** fetch with JSON; `cookie` and `csrf` as the console's browser would send them. */
  call(method: string, path: string, o?: { body?: unknown; cookie?: string; csrf?: string; token?: string; headers?: Record<string, string> }): Promise<{ status: number; json: any; headers: Headers }>;
  /** Signs in; the cookie value and CSRF token. */
  signIn(username: string, password: string): Promise<{ cookie: string; csrf: string; setCookie: string }>;
}

let handle: TestStore | undefined;
let live: Live | undefined;

async function start(o: { accountOptions?: AccountServiceOptions; trustProxy?: boolean } = {}): Promise<Live> {
  handle = await sqliteStoreFactory();
  const r = await startTestRegistry(handle.store, o);
  const url = await listen(r.app, { host: '127.0.0.1', port: 0 });
  const call: Live['call'] = async (method, path, c = {}) => {
    const res = await fetch(url + path, {
      method,
      headers: {
        ...(c.body !== undefined && { 'content-type': 'application/json' }),
        ...(c.cookie !== undefined && { cookie: `other=1; cityedge_session=${c.cookie}` }),
        ...(c.csrf !== undefined && { 'x-csrf-token': c.csrf }),
        ...(c.token !== undefined && { authorization: `Bearer ${c.token}` }),
        ...c.headers,
      },
      ...(c.body !== undefined && { body: JSON.stringify(c.body) }),
    });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : undefined, headers: res.headers };
  };
  const signIn: Live['signIn'] = async (username, password) => {
    const res = await call('POST', '/v1/session', { body: { username, password } });
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    const setCookie = res.headers.get('set-cookie') ?? '';
    const cookie = /cityedge_session=([^;]+)/.exec(setCookie)?.[1] ?? '';
    return { cookie, csrf: res.json.csrfToken as string, setCookie };
  };
  live = { r, url, call, signIn };
  return live;
}

afterEach(async () => {
  await live?.r.close();
  await handle?.cleanup();
  live = undefined;
  handle = undefined;
});

async function withAccount(l: Live, username: string, role: 'admin' | 'technician' | 'viewer', password = 'correct horse 1'): Promise<void> {
  const res = await l.call('POST', '/v1/accounts', { token: l.r.tokens.admin, body: { username, displayName: `${username} display`, role, password } });
  expect(res.status, JSON.stringify(res.json)).toBe(201);
}

describe('console accounts and sessions', () => {
  it('signs in with a cookie (HttpOnly, SameSite=Strict, Path=/, no Secure over http), answers the user and CSRF token, and signs out', async () => {
    const l = await start();
    await withAccount(l, 'ana', 'technician');
    const s = await l.signIn('ana', 'correct horse 1');
    expect(s.cookie.length).toBeGreaterThanOrEqual(40);
    expect(s.setCookie).toMatch(/HttpOnly/);
    expect(s.setCookie).toMatch(/SameSite=Strict/);
    expect(s.setCookie).toMatch(/Path=\//);
    expect(s.setCookie).not.toMatch(/Secure/);
    const me = await l.call('GET', '/v1/session', { cookie: s.cookie });
    expect(me.status).toBe(200);
    expect(me.json.user).toEqual({ username: 'ana', displayName: 'ana display', role: 'technician' });
    expect(me.json.csrfToken).toBe(s.csrf);
    expect((await l.call('GET', '/v1/sites', { cookie: s.cookie })).status).toBe(200);
    // The session is stored hashed: the cookie value is nowhere in the database.
    const rows = await l.r.store.db.selectFrom('sessions').selectAll().execute();
    expect(JSON.stringify(rows)).not.toContain(s.cookie);
    expect((await l.call('DELETE', '/v1/session', { cookie: s.cookie })).json.error.code).toBe('REG_CSRF');
    const out = await l.call('DELETE', '/v1/session', { cookie: s.cookie, csrf: s.csrf });
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toMatch(/cityedge_session=;.*Max-Age=0/);
    const after = await l.call('GET', '/v1/session', { cookie: s.cookie });
    expect(after.status).toBe(401);
    expect(after.json.error.code).toBe('REG_UNAUTHORIZED');
    expect((await l.call('GET', '/v1/sites', { cookie: s.cookie })).status).toBe(401);
    expect((await l.call('GET', '/v1/session')).status).toBe(401);
    // Neither the password nor the cookie is ever logged.
    const logs = l.r.logs.join('');
    expect(logs).not.toContain('correct horse 1');
    expect(logs).not.toContain(s.cookie);
  });

  it('marks the cookie Secure when the request came over https', async () => {
    const l = await start({ trustProxy: true });
    await withAccount(l, 'ana', 'viewer');
    const res = await l.call('POST', '/v1/session', { body: { username: 'ana', password: 'correct horse 1' }, headers: { 'x-forwarded-proto': 'https' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('set-cookie')).toMatch(/; Secure/);
  });

  it('answers a wrong password and an unknown user the same way', async () => {
    const l = await start();
    await withAccount(l, 'ana', 'viewer');
    const wrong = await l.call('POST', '/v1/session', { body: { username: 'ana', password: 'not the password' } });
    const unknown = await l.call('POST', '/v1/session', { body: { username: 'nobody', password: 'not the password' } });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.json).toEqual(unknown.json);
    expect(wrong.json.error.code).toBe('REG_BAD_CREDENTIALS');
    expect(wrong.headers.get('set-cookie')).toBeNull();
    const missing = await l.call('POST', '/v1/session', { body: { username: 'ana' } });
    expect(missing.status).toBe(400);
    expect(missing.json.error.field).toBe('body.password');
  });

  it('locks an account after 5 wrong passwords (even the right one is refused) until the window passes', async () => {
    const l = await start();
    await withAccount(l, 'ana', 'viewer');
    for (let i = 0; i < 5; i++) expect((await l.call('POST', '/v1/session', { body: { username: 'ana', password: `guess number ${i}` } })).status).toBe(401);
    const locked = await l.call('POST', '/v1/session', { body: { username: 'ana', password: 'correct horse 1' } });
    expect(locked.status).toBe(429);
    expect(locked.json.error.code).toBe('REG_ACCOUNT_LOCKED');
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
    // Another account is not affected.
    await withAccount(l, 'binh', 'viewer');
    await l.signIn('binh', 'correct horse 1');
    l.r.clock.advance(15 * 60_000);
    await l.signIn('ana', 'correct horse 1');
  });

  it('rate-limits sign-in attempts per address', async () => {
    const l = await start({ accountOptions: { signInRateLimit: { max: 3, windowMs: 60_000 } } });
    await withAccount(l, 'ana', 'viewer');
    for (let i = 0; i < 3; i++) expect((await l.call('POST', '/v1/session', { body: { username: `u${i}`, password: 'whatever pw' } })).status).toBe(401);
    const res = await l.call('POST', '/v1/session', { body: { username: 'ana', password: 'correct horse 1' } });
    expect(res.status).toBe(429);
    expect(res.json.error.code).toBe('REG_RATE_LIMITED');
    expect(res.headers.get('retry-after')).toBe('60');
  });

  it('refuses unsafe requests of a cookie session without the CSRF token; bearer requests need none', async () => {
    const l = await start();
    await withAccount(l, 'ana', 'technician');
    const s = await l.signIn('ana', 'correct horse 1');
    const site = (id: string) => ({ id, name: 'Hội An', timeZone: 'Asia/Ho_Chi_Minh' });
    const none = await l.call('POST', '/v1/sites', { cookie: s.cookie, body: site('s1') });
    expect(none.status).toBe(403);
    expect(none.json.error.code).toBe('REG_CSRF');
    const wrong = await l.call('POST', '/v1/sites', { cookie: s.cookie, csrf: s.csrf.slice(1) + 'x', body: site('s1') });
    expect(wrong.json.error.code).toBe('REG_CSRF');
    expect((await l.call('GET', '/v1/sites/s1', { token: l.r.tokens.viewer })).status).toBe(404);
    expect((await l.call('POST', '/v1/sites', { cookie: s.cookie, csrf: s.csrf, body: site('s1') })).status).toBe(201);
    expect((await l.call('POST', '/v1/sites', { token: l.r.tokens.technician, body: site('s2') })).status).toBe(201);
  });

  it("audits a session's actions under user:<username>", async () => {
    const l = await start();
    await withAccount(l, 'ana', 'technician');
    const s = await l.signIn('ana', 'correct horse 1');
    expect((await l.call('POST', '/v1/sites', { cookie: s.cookie, csrf: s.csrf, body: { id: 'hoi-an', name: 'Hội An', timeZone: 'Asia/Ho_Chi_Minh' } })).status).toBe(201);
    const audit = await l.call('GET', '/v1/audit?targetType=site', { token: l.r.tokens.admin });
    expect(audit.status).toBe(200);
    const entry = audit.json.entries.find((e: any) => e.action === 'site.create');
    expect(entry.actor).toEqual({ id: 'user:ana', name: 'ana display' });
    const signIns = (await l.call('GET', '/v1/audit?action=session.create', { token: l.r.tokens.admin })).json.entries;
    expect(signIns[0].actor.id).toBe('user:ana');
  });

  it('gives a viewer session only what a viewer token may do', async () => {
    const l = await start();
    await withAccount(l, 'vy', 'viewer');
    const s = await l.signIn('vy', 'correct horse 1');
    expect((await l.call('GET', '/v1/gateways', { cookie: s.cookie })).status).toBe(200);
    const post = await l.call('POST', '/v1/sites', { cookie: s.cookie, csrf: s.csrf, body: { id: 's1', name: 'x', timeZone: 'UTC' } });
    expect(post.status).toBe(403);
    expect(post.json.error.code).toBe('REG_FORBIDDEN');
    expect((await l.call('GET', '/v1/accounts', { cookie: s.cookie })).json.error.code).toBe('REG_FORBIDDEN');
    expect((await l.call('POST', '/v1/accounts/ana/password', { cookie: s.cookie, csrf: s.csrf, body: { password: 'new password 2' } })).json.error.code).toBe('REG_FORBIDDEN');
  });

  it('ends a session after the idle time and after the absolute lifetime (injected clock)', async () => {
    const l = await start({ accountOptions: { sessionIdleMs: 30 * 60_000, sessionMaxMs: 4 * 3600_000 } });
    await withAccount(l, 'ana', 'viewer');
    const idle = await l.signIn('ana', 'correct horse 1');
    l.r.clock.advance(29 * 60_000);
    expect((await l.call('GET', '/v1/session', { cookie: idle.cookie })).status).toBe(200);
    l.r.clock.advance(29 * 60_000);
    expect((await l.call('GET', '/v1/session', { cookie: idle.cookie })).status).toBe(200);
    l.r.clock.advance(30 * 60_000);
    expect((await l.call('GET', '/v1/session', { cookie: idle.cookie })).status).toBe(401);

    const busy = await l.signIn('ana', 'correct horse 1');
    for (let t = 0; t < 3 * 3600_000 + 40 * 60_000; t += 20 * 60_000) {
      l.r.clock.advance(20 * 60_000);
      expect((await l.call('GET', '/v1/sites', { cookie: busy.cookie })).status).toBe(200);
    }
    l.r.clock.advance(20 * 60_000);
    expect((await l.call('GET', '/v1/sites', { cookie: busy.cookie })).status).toBe(401);
  });

  it('manages accounts (admin): list, change role, disable (ends its sessions), delete; passwords by self or admin', async () => {
    const l = await start();
    await withAccount(l, 'ana', 'technician');
    await withAccount(l, 'admin', 'admin');
    const adm = await l.signIn('admin', 'correct horse 1');
    const dup = await l.call('POST', '/v1/accounts', { cookie: adm.cookie, csrf: adm.csrf, body: { username: 'ana', role: 'viewer', password: 'another one 1' } });
    expect(dup.status).toBe(409);
    expect(dup.json.error.field).toBe('body.username');
    const short = await l.call('POST', '/v1/accounts', { cookie: adm.cookie, csrf: adm.csrf, body: { username: 'binh', role: 'viewer', password: 'short' } });
    expect(short.status).toBe(400);
    expect(short.json.error.field).toBe('body.password');
    const badName = await l.call('POST', '/v1/accounts', { cookie: adm.cookie, csrf: adm.csrf, body: { username: 'Bình', role: 'viewer', password: 'long enough 1' } });
    expect(badName.json.error.field).toBe('body.username');
    const list = await l.call('GET', '/v1/accounts', { cookie: adm.cookie });
    expect(list.json.accounts.map((a: any) => a.username)).toEqual(['admin', 'ana']);
    expect(JSON.stringify(list.json)).not.toMatch(/scrypt|hash/i);

    // Own password: the current one is needed; other sessions end, this one stays.
    const a1 = await l.signIn('ana', 'correct horse 1');
    const a2 = await l.signIn('ana', 'correct horse 1');
    const noCurrent = await l.call('POST', '/v1/accounts/ana/password', { cookie: a1.cookie, csrf: a1.csrf, body: { password: 'new password 2' } });
    expect(noCurrent.status).toBe(403);
    expect(noCurrent.json.error.field).toBe('body.currentPassword');
    expect((await l.call('POST', '/v1/accounts/ana/password', { cookie: a1.cookie, csrf: a1.csrf, body: { password: 'new password 2', currentPassword: 'correct horse 1' } })).status).toBe(204);
    expect((await l.call('GET', '/v1/session', { cookie: a1.cookie })).status).toBe(200);
    expect((await l.call('GET', '/v1/session', { cookie: a2.cookie })).status).toBe(401);
    expect((await l.call('POST', '/v1/accounts/admin/password', { cookie: a1.cookie, csrf: a1.csrf, body: { password: 'take over 123' } })).json.error.code).toBe('REG_FORBIDDEN');
    expect((await l.call('POST', '/v1/session', { body: { username: 'ana', password: 'correct horse 1' } })).status).toBe(401);
    // An admin sets anyone's.
    expect((await l.call('POST', '/v1/accounts/ana/password', { cookie: adm.cookie, csrf: adm.csrf, body: { password: 'reset by admin' } })).status).toBe(204);
    const a3 = await l.signIn('ana', 'reset by admin');

    const demoted = await l.call('PATCH', '/v1/accounts/ana', { cookie: adm.cookie, csrf: adm.csrf, body: { role: 'viewer', displayName: 'Ana Nguyễn' } });
    expect(demoted.json).toMatchObject({ username: 'ana', role: 'viewer', displayName: 'Ana Nguyễn', disabled: false });
    expect((await l.call('GET', '/v1/session', { cookie: a3.cookie })).json.user.role).toBe('viewer');
    expect((await l.call('PATCH', '/v1/accounts/ana', { cookie: adm.cookie, csrf: adm.csrf, body: { disabled: true } })).json.disabled).toBe(true);
    expect((await l.call('GET', '/v1/session', { cookie: a3.cookie })).status).toBe(401);
    expect((await l.call('POST', '/v1/session', { body: { username: 'ana', password: 'reset by admin' } })).json.error.code).toBe('REG_BAD_CREDENTIALS');
    expect((await l.call('DELETE', '/v1/accounts/ana', { cookie: adm.cookie, csrf: adm.csrf })).status).toBe(204);
    expect((await l.call('GET', '/v1/accounts/ana', { cookie: adm.cookie })).status).toBe(404);
    expect((await l.call('PATCH', '/v1/accounts/ana', { cookie: adm.cookie, csrf: adm.csrf, body: { role: 'admin' } })).status).toBe(404);
  });

  it('creates the bootstrap admin account once and leaves an existing one as it is', async () => {
    const l = await start();
    expect(await l.r.services.accounts.ensureAdmin('admin', 'first password')).toBe(true);
    expect(await l.r.services.accounts.ensureAdmin('admin', 'second password')).toBe(false);
    const s = await l.signIn('admin', 'first password');
    expect((await l.call('GET', '/v1/session', { cookie: s.cookie })).json.user.role).toBe('admin');
  });
});
